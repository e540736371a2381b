# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one OCI client factory: config file + profile, env vars, instance principal, service_endpoint override.

Every client is built without SDK-level retries and without the SDK circuit breaker: oci_retry.RetryPolicy
decides about every repeat (the SDK's default strategy retries "Out of host capacity" blindly).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible.module_utils.six.moves import configparser

try:
    import oci
    HAS_OCI = True
    OCI_IMPORT_ERROR = None
except ImportError as exc:  # reported by require_oci() with missing_required_lib
    HAS_OCI = False
    OCI_IMPORT_ERROR = exc

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import CredentialsError, config_file_error

DEFAULT_CONFIG_FILE = "~/.oci/config"
ENDPOINT_ENV = "OPENEDX_SCALE_OCI_SERVICE_ENDPOINT"
# Environment overrides, same names as the OCI CLI / oracle.oci collection use.
ENV_KEYS = {
    "OCI_USER_ID": "user",
    "OCI_USER_FINGERPRINT": "fingerprint",
    "OCI_USER_KEY_FILE": "key_file",
    "OCI_USER_KEY_PASS_PHRASE": "pass_phrase",
    "OCI_TENANCY": "tenancy",
    "OCI_REGION": "region",
}
_FIX_CONFIG = "create it with `oci setup config`, point config_file/OCI_CONFIG_FILE at it, or use auth_type=instance_principal."


def require_oci(module):
    if not HAS_OCI:
        module.fail_json(msg=missing_required_lib("oci"), exception=str(OCI_IMPORT_ERROR))


def _profile_from_file(path, profile, env_values):
    """The profile's values from the config file; keys it lacks may still come from the OCI_* variables (`env_values`)."""
    if not os.access(path, os.R_OK):
        raise CredentialsError("%s is not readable." % path, field="config_file", fix="make it readable by the user running Ansible.")
    try:
        config = oci.config.from_file(path, profile)
    except oci.exceptions.ProfileNotFound as exc:
        raise CredentialsError("profile %r not found in %s." % (profile, path), field="profile",
                               fix="use a [section] name present in the config file, or add that profile.") from exc
    except configparser.Error as exc:
        raise config_file_error(exc) from None
    except oci.exceptions.InvalidKeyFilePath as exc:
        # The SDK's message quotes the value, which may be a pasted key's continuation lines.
        raise CredentialsError("the key_file of profile [%s] in %s is missing or unreadable." % (profile, path), field="key_file",
                               fix="point key_file at the API signing key (PEM) and make it readable (chmod 600, owned by this user).") from exc
    except oci.exceptions.InvalidConfig as exc:
        # Missing keys may still come from the environment; anything else is fatal.
        problems = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {"config": str(exc)}
        unresolved = dict((k, v) for k, v in problems.items() if not (v == "missing" and k in env_values))
        if unresolved:
            key, why = sorted(unresolved.items())[0]
            raise CredentialsError("key %r is %s in profile [%s] of %s." % (key, why, profile, path), field="config_file",
                                   fix="fix %s in the config file (see `oci setup config`)." % key) from exc
        config = _read_raw_profile(path, profile)
    return config


def _api_key_config(params, environ):
    path = params.get("config_file") or environ.get("OCI_CONFIG_FILE") or DEFAULT_CONFIG_FILE
    path = os.path.expanduser(path)
    profile = params.get("profile") or environ.get("OCI_CONFIG_PROFILE") or "DEFAULT"
    env_values = dict((key, environ[var]) for var, key in ENV_KEYS.items() if environ.get(var))
    if not os.path.exists(path) and not env_values:
        raise CredentialsError("no OCI credentials: %s does not exist and no OCI_USER_ID/OCI_TENANCY/... variables are set." % path,
                               field="config_file", fix=_FIX_CONFIG)
    config = _profile_from_file(path, profile, env_values) if os.path.exists(path) else {}
    config.update(env_values)
    if params.get("region"):
        config["region"] = params["region"]
    try:
        oci.config.validate_config(config)
    except oci.exceptions.InvalidConfig as exc:
        problems = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {"config": str(exc)}
        key, why = sorted(problems.items())[0]
        raise CredentialsError("credential %r is %s (profile [%s] of %s, or OCI_* variables)." % (key, why, profile, path),
                               field="config_file", fix="set %s in the config profile or the matching OCI_* variable." % key) from exc
    key_file = config.get("key_file")
    if key_file and not config.get("key_content"):
        key_path = os.path.expanduser(key_file)
        if not os.path.isfile(key_path) or not os.access(key_path, os.R_OK):
            raise CredentialsError("key file %s (key_file in profile [%s]) is missing or unreadable." % (key_path, profile), field="key_file",
                                   fix="point key_file at the API signing key (PEM) and make it readable (chmod 600, owned by this user).")
    try:
        signer = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config.get("key_file"),
                                   pass_phrase=config.get("pass_phrase"), private_key_content=config.get("key_content"))
    except Exception as exc:  # the SDK raises several types for unusable keys
        raise CredentialsError("the API signing key cannot be loaded (%s)." % exc, field="key_file",
                               fix="use an unencrypted PEM RSA key or set pass_phrase / OCI_USER_KEY_PASS_PHRASE.") from exc
    return config, signer, path, profile


def _read_raw_profile(path, profile):
    """Profile values without validation (validation happens after env overrides are applied)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    values = dict(parser.defaults())
    if parser.has_section(profile):
        values.update(dict(parser.items(profile)))
    return values


class OciClients(object):
    """Lazily built SDK clients sharing one config/signer and one service endpoint."""

    def __init__(self, params, environ=None):
        environ = os.environ if environ is None else environ
        if not HAS_OCI:
            raise CredentialsError("the oci Python SDK is not installed.", field="auth_type", fix="pip install oci (see requirements.txt).")
        self.profile_values = {}
        if params.get("auth_type") == "instance_principal":
            try:
                self.signer = oci.auth.signers.InstancePrincipalsSecurityTokenSigner()
            except Exception as exc:  # no metadata service, no dynamic group
                raise CredentialsError("instance principal sign-in failed (%s)." % exc, field="auth_type",
                                       fix="run on an OCI instance in a dynamic group with policies, or use auth_type=api_key.") from exc
            self.config = {"region": params.get("region") or self.signer.region}
            self.tenancy = self.signer.tenancy_id
        else:
            self.config, self.signer, self.config_file, self.profile = _api_key_config(params, environ)
            self.tenancy = self.config["tenancy"]
        self.region = self.config.get("region")
        # A non-standard `service_endpoint` key in the profile lets a stand-in config redirect everything.
        self.service_endpoint = params.get("service_endpoint") or environ.get(ENDPOINT_ENV) or self.config.get("service_endpoint")
        self._clients = {}

    def _client(self, name, cls):
        if name not in self._clients:
            kwargs = dict(
                signer=self.signer,
                retry_strategy=oci.retry.NoneRetryStrategy(),
                circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
                timeout=(10, 60),
            )
            if self.service_endpoint:
                kwargs["service_endpoint"] = self.service_endpoint
            self._clients[name] = cls(self.config, **kwargs)
        return self._clients[name]

    @property
    def identity(self):
        return self._client("identity", oci.identity.IdentityClient)

    @property
    def compute(self):
        return self._client("compute", oci.core.ComputeClient)

    @property
    def network(self):
        return self._client("network", oci.core.VirtualNetworkClient)

    @property
    def limits(self):
        return self._client("limits", oci.limits.LimitsClient)

    @property
    def ce(self):
        return self._client("ce", oci.container_engine.ContainerEngineClient)

    @property
    def mysql(self):
        """MySQL HeatWave DB systems (create, get, list, delete)."""
        return self._client("mysql", oci.mysql.DbSystemClient)

    @property
    def mysqlaas(self):
        """The MySQL service's own lists (shapes, versions, configurations)."""
        return self._client("mysqlaas", oci.mysql.MysqlaasClient)

    @property
    def mysql_work_requests(self):
        return self._client("mysql_work_requests", oci.mysql.WorkRequestsClient)


def list_all(policy, operation, fn, **kwargs):
    """Every item of a paginated list call (follows opc-next-page), each page through the retry policy."""
    items = []
    page = None
    while True:
        if page:
            kwargs["page"] = page
        response = policy.call(operation, fn, **kwargs)
        items.extend(response.data or [])
        page = getattr(response, "next_page", None)
        if not page:
            return items


def to_dict(obj):
    """SDK model -> plain dict with snake_case keys (what modules return)."""
    if obj is None:
        return None
    if HAS_OCI and not isinstance(obj, (dict, list)):
        return oci.util.to_dict(obj)
    return obj
