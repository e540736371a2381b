"""A broken OCI config file is reported by file and line, never by its content (issue 30 item 4).

The real `oci` SDK reads each file (oci.config.from_file, which raises configparser's errors); the usual
mistake is a private key pasted into the config file, so every message is searched for the key's text.
"""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible_collections.openedx_scale.oke.plugins.module_utils import oci_client, oci_errors  # noqa: E402

SECRET = "MIIEpAIBAAKCAQEAsecretCanaryKeyBody0123456789abcdefXYZ=="
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{SECRET}\n{SECRET[::-1]}\n-----END RSA PRIVATE KEY-----\n"
GOOD = "[DEFAULT]\nuser=ocid1.user.oc1..aaaa\nfingerprint=aa:bb\ntenancy=ocid1.tenancy.oc1..aaaa\nregion=me-jeddah-1\n"

CASES = {
    # file text, the line numbers the message must name
    "key pasted into the profile": (GOOD + PEM, ["lines 6, 8, 9"]),  # line 7 ends in "==": read as an option
    "key pasted before any section": (PEM + GOOD, ["line 1"]),
    "key pasted as key_file's continuation": (GOOD + "key_file=/nonexistent\n  " + SECRET + "\n", []),
    "an option repeated (a base64 line with '=' parses as one)": (GOOD + SECRET + "\n" + SECRET + "\n", ["line 7"]),
}


class FailJson(Exception):
    pass


class Module:
    def fail_json(self, **result):
        raise FailJson(result)


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_config_names_file_and_line_not_content(tmp_path, case):
    text, lines = CASES[case]
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(oci_errors.CredentialsError) as caught:
        oci_client._api_key_config({"config_file": str(path), "profile": "DEFAULT"}, {})
    with pytest.raises(FailJson) as failed:
        oci_errors.fail_module(Module(), caught.value)
    result = repr(failed.value.args[0])
    assert SECRET not in result and SECRET[::-1] not in result and SECRET.lower()[:20] not in result, result
    assert "BEGIN RSA" not in result, result
    assert str(path) in result and caught.value.field in ("config_file", "key_file"), result
    assert "exception" not in failed.value.args[0], "no traceback (it would quote the line)"
    for line in lines:
        assert line in result, (line, result)


def test_a_configparser_error_reaching_fail_module_is_censored_too(tmp_path):
    """Any other parse of the file (a later SDK call) goes through the same one place."""
    path = tmp_path / "config"
    path.write_text(PEM)
    parser = configparser.ConfigParser()
    with pytest.raises(configparser.Error) as raised:
        parser.read(path)
    with pytest.raises(FailJson) as failed:
        oci_errors.fail_module(Module(), raised.value)
    result = failed.value.args[0]
    assert SECRET not in repr(result) and "BEGIN RSA" not in repr(result), result
    assert result["field"] == "config_file" and "line 1" in result["msg"] and str(path) in result["msg"], result
