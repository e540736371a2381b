"""oci_mysql: OCI's administrator-password rule, the candidate order, the ingress-rule check, and the DB system
module's paths the sandbox does not take (a synchronous "Out of host capacity", a false LimitExceeded), on the SDK's
own models with recorded fake clients. Against the OCI sandbox: tests/integration/provision/test_mysql_db_system.py."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible_collections.openedx_scale.oke.plugins.module_utils import oci_module  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_mysql import (  # noqa: E402
    _rule_allows,
    admin_password_problem,
    candidates,
)
from ansible_collections.openedx_scale.oke.plugins.modules import oci_mysql_db_system  # noqa: E402
from oci.core.models import IngressSecurityRule, PortRange, SecurityList, Subnet, TcpOptions  # noqa: E402
from oci.exceptions import ServiceError  # noqa: E402
from oci.mysql.models import DbSystem, DbSystemSummary, ShapeSummary  # noqa: E402

from tests.unit.plugins.modules.test_oci_provision_modules import COMP, SUBNET, Recorder, run  # noqa: E402

GOOD = "Sb-Adm1n-Pass!"


@pytest.mark.parametrize(("password", "problem"), [
    ("Aa1!aaaa", None),  # 8 characters: the shortest OCI allows
    ("Aa1!" + "a" * 28, None),  # 32: the longest
    ("Aa1!aaa", "has 7 characters; OCI requires 8-32"),
    ("Aa1!" + "a" * 29, "has 33 characters"),
    ("aa1!aaaa", "no upper-case letter"),
    ("AA1!AAAA", "no lower-case letter"),
    ("Aab!aaaa", "no digit"),
    ("Aa1aaaaa", "no special (non-alphanumeric) character"),
    ("", "is empty"),
    (None, "is empty"),
])
def test_oci_admin_password_rule(password, problem):
    got = admin_password_problem(password)
    assert (got is None) if problem is None else (problem in got), got
    if got and password:
        assert password not in got


def test_candidates_try_fault_domains_then_shapes_then_standalone():
    labels = [c.label() for c in candidates(["MySQL.8", "MySQL.16"], ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2"], True, True)]
    assert labels == ["MySQL.8 HA @ FD-1", "MySQL.8 HA @ FD-2", "MySQL.16 HA @ FD-1", "MySQL.16 HA @ FD-2",
                      "MySQL.8 standalone @ FD-1", "MySQL.8 standalone @ FD-2", "MySQL.16 standalone @ FD-1", "MySQL.16 standalone @ FD-2"]
    assert [c.ha for c in candidates(["MySQL.8"], ["FAULT-DOMAIN-1"], True, False)] == [True]


def tcp(source, low=None, high=None, protocol="6"):
    options = TcpOptions(destination_port_range=PortRange(min=low, max=high)) if low else None
    return IngressSecurityRule(source=source, source_type="CIDR_BLOCK", protocol=protocol, tcp_options=options)


@pytest.mark.parametrize(("rule", "allowed"), [
    (tcp("10.0.0.0/16"), True),
    (tcp("10.0.0.0/16", protocol="all"), True),
    (tcp("10.0.0.0/16", 3306, 3306), True),
    (tcp("10.0.0.0/16", 3300, 3310), True),
    (tcp("10.0.0.0/16", 22, 22), False),
    (tcp("10.0.20.128/25"), False),  # covers only half of the clients
    (tcp("10.0.0.0/16", protocol="17"), False),  # UDP
])
def test_ingress_rule_must_cover_the_clients_and_the_port(rule, allowed):
    assert _rule_allows(rule, ipaddress.ip_network("10.0.20.0/24"), 3306) is allowed


ARGS = {"deployment": "unit", "name": "openedx-unit-mysql", "compartment_id": COMP, "subnet_id": SUBNET, "client_cidrs": ["10.0.20.0/24"],
        "shape": "MySQL.8", "alternative_shapes": ["MySQL.16"], "high_availability": True, "fault_domains": ["FAULT-DOMAIN-1"],
        "admin_username": "openedx_admin", "admin_password": GOOD, "wait_timeout": 3600}
AD = "hxIl:ME-JEDDAH-1-AD-1"


def db(shape, state="ACTIVE"):
    return DbSystem(id="ocid1.mysqldbsystem.oc1..unit" + shape[-2:].strip("."), display_name=ARGS["name"], lifecycle_state=state, shape_name=shape,
                    is_highly_available=True, availability_domain=AD, fault_domain="FAULT-DOMAIN-1", mysql_version="9.1.2",
                    data_storage_size_in_gbs=50, ip_address="10.0.30.3", port=3306, port_x=33060, endpoints=[],
                    freeform_tags={"openedx_scale_managed_by": "openedx_scale.oke", "openedx_scale_deployment": "unit",
                                   "openedx_scale_component": "mysql_db_system"})


class Clients:
    def __init__(self, mysql):
        self.mysql = mysql
        self.mysqlaas = Recorder({"list_shapes": [ShapeSummary(name=n, cpu_core_count=8, memory_size_in_gbs=64) for n in ("MySQL.8", "MySQL.16")]})
        self.mysql_work_requests = Recorder({})
        self.network = Recorder({"get_subnet": Subnet(id=SUBNET, cidr_block="10.0.30.0/24", security_list_ids=["ocid1.securitylist.oc1..unit"]),
                                 "get_security_list": SecurityList(ingress_security_rules=[tcp("10.0.0.0/16", 3306, 3306)])})
        self.identity = Recorder({"list_availability_domains": [SimpleNamespace(name=AD)]})
        self.tenancy = "ocid1.tenancy.oc1..aaaaaaaaunittest"


def test_synchronous_out_of_host_capacity_moves_to_the_next_shape(capsys, monkeypatch):
    listed = []

    def create(details, opc_retry_token=None):
        if details.shape_name == "MySQL.8":
            raise ServiceError(500, "InternalError", {}, "Out of host capacity.")
        listed.append(db("MySQL.16"))
        return SimpleNamespace(data=db("MySQL.16", "CREATING"), headers={})

    mysql = Recorder({"list_db_systems": lambda **kw: SimpleNamespace(data=[DbSystemSummary(**{k: getattr(d, k) for k in (
        "id", "display_name", "lifecycle_state", "freeform_tags")}) for d in listed], headers={}, next_page=None),
        "create_db_system": create, "get_db_system": lambda db_id: SimpleNamespace(data=db("MySQL.16"), headers={})})
    monkeypatch.setattr(oci_module, "OciClients", lambda params: Clients(mysql))
    failed, out = run(oci_mysql_db_system, ARGS, capsys)
    assert not failed, out["msg"]
    assert [(a["placement"], a["outcome"]) for a in out["attempts"]] == [("MySQL.8 HA @ FD-1", "failed"), ("MySQL.16 HA @ FD-1", "ok")]
    assert mysql.calls.count("create_db_system") == 2 and out["db_system"]["shape_name"] == "MySQL.16"
    assert GOOD not in str(out)


def test_bad_input_fails_before_a_client_is_built(capsys, monkeypatch):
    monkeypatch.setattr(oci_module, "OciClients", lambda params: pytest.fail("a client was built although the input is invalid"))
    failed, out = run(oci_mysql_db_system, dict(ARGS, admin_password="weakpass", shape="VM.Standard.E4.Flex", client_cidrs=["nope"]), capsys)
    assert failed and "admin_password" in out["msg"] and "shape" in out["msg"] and "client_cidrs" in out["msg"], out["msg"]
    assert "weakpass" not in out["msg"]
