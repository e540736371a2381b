# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kubectl exec credential for OKE on the oci SDK alone: what `oci ce cluster generate-token` prints, without oci-cli.

OKE authenticates a bearer token that is a GET of /cluster_request/<cluster OCID> on the regional Container Engine
host, signed like any OCI request, with the signature's `authorization` and `date` moved into the query string and
the whole URL base64url-encoded. The oke_kubeconfig module points the kubeconfig's exec user here (run by the same
Python as Ansible, which has the SDK), so controllers and AWX execution environments need no oci-cli, whose pins
conflict with ours.

    python oke_token.py --cluster-id OCID --region me-jeddah-1 [--auth api_key|instance_principal] [--endpoint URL]
                        [--tenancy OCID --user OCID --fingerprint FP --key-file PEM] [--config-file F] [--profile P]

With --tenancy/--user/--fingerprint/--key-file (what oke_kubeconfig writes: the identity its task signed with, from
a config file or OCI_* variables) the config file is read only for the key's pass_phrase, which
OCI_USER_KEY_PASS_PHRASE may give instead. Without them the config file's profile is the whole identity.
"""

import argparse
import base64
import configparser
import datetime
import json
import os
import sys
from urllib.parse import urlencode

import oci
import requests

# kubectl asks again after this long; OKE accepts a token for a few minutes more (oci-cli uses the same 4 minutes).
LIFETIME = datetime.timedelta(minutes=4)


IDENTITY = ("tenancy", "user", "fingerprint", "key_file")


def _api_key_config(args):
    config_file = os.path.expanduser(args.config_file or oci.config.DEFAULT_LOCATION)
    profile = args.profile or oci.config.DEFAULT_PROFILE
    explicit = {key: getattr(args, key) for key in IDENTITY if getattr(args, key)}
    if not explicit:
        return oci.config.from_file(config_file, profile)  # validates the profile
    if len(explicit) < len(IDENTITY):
        missing = ", ".join("--" + k.replace("_", "-") for k in IDENTITY if k not in explicit)
        raise ValueError(f"--tenancy, --user, --fingerprint and --key-file go together (missing: {missing})")
    pass_phrase = os.environ.get("OCI_USER_KEY_PASS_PHRASE")
    if not pass_phrase and os.path.isfile(config_file):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(config_file)
        pass_phrase = parser.get(profile, "pass_phrase", fallback=None) if parser.has_section(profile) else parser.defaults().get("pass_phrase")
    return dict(explicit, pass_phrase=pass_phrase)


def _signer(args):
    if args.auth == "instance_principal":
        return oci.auth.signers.InstancePrincipalsSecurityTokenSigner()
    config = _api_key_config(args)
    return oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"],
                             pass_phrase=config.get("pass_phrase"))


def cluster_token(signer, cluster_id, region=None, endpoint=None):
    """The base64url token for one cluster; `endpoint` replaces the regional host (a local stand-in in tests)."""
    base = (endpoint or f"https://containerengine.{region}.oraclecloud.com").rstrip("/")
    url = f"{base}/cluster_request/{cluster_id}"
    signed = signer.do_request_sign(requests.Request("GET", url).prepare())
    query = {"authorization": signed.headers["authorization"], "date": signed.headers["date"]}
    delegation = getattr(signer, "delegation_token", None)
    if delegation:  # instance principals acting on behalf of a user (Cloud Shell)
        query["opc-obo-token"] = delegation
    return base64.urlsafe_b64encode(f"{url}?{urlencode(query)}".encode()).decode("ascii")


def exec_credential(token, now=None):
    expires = (now or datetime.datetime.now(datetime.UTC)) + LIFETIME
    return {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster-id", required=True)
    parser.add_argument("--region")
    parser.add_argument("--config-file")
    parser.add_argument("--profile")
    parser.add_argument("--tenancy")
    parser.add_argument("--user")
    parser.add_argument("--fingerprint")
    parser.add_argument("--key-file", dest="key_file")
    parser.add_argument("--auth", choices=["api_key", "instance_principal"], default="api_key")
    parser.add_argument("--endpoint", help="Container Engine base URL instead of the region's (tests)")
    args = parser.parse_args(argv)
    if not args.region and not args.endpoint:
        parser.error("--region (or --endpoint) is required")
    try:
        token = cluster_token(_signer(args), args.cluster_id, args.region, args.endpoint)
    except (oci.exceptions.ClientError, OSError, KeyError, ValueError) as exc:
        sys.stderr.write(f"oke_token: cannot sign for {args.cluster_id}: {exc}\n")
        return 1
    json.dump(exec_credential(token), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
