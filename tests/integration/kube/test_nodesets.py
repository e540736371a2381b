"""Node sets: the simulated nodes follow the inventories (no cluster needed), and bad node sets fail clearly."""

from __future__ import annotations

import pytest
import yaml

from tests.rehearsal import inventory_path
from tests.sandbox.kube.testbed import TestbedError, load_nodeset


def _inventory(name: str) -> dict:
    out: dict = {}
    for f in sorted((inventory_path(name) / "group_vars" / "all").glob("*.yml")):
        out.update(yaml.safe_load(f.read_text()) or {})
    return out


@pytest.mark.parametrize("inventory", ["sandbox", "example-jeddah"])
def test_nodeset_registers_what_the_inventory_provisions(inventory):
    inv = _inventory(inventory)
    nodes = load_nodeset(inventory).nodes()
    for pool in ("lms", "services"):
        mine = [n for n in nodes if n["metadata"]["labels"][inv["openedx_scale_pool_label_key"]] == pool]
        shape = inv[f"oke_cluster_{pool}_shape"]
        assert len(mine) == inv[f"oke_cluster_{pool}_count"]
        for n in mine:
            assert n["metadata"]["labels"]["node.kubernetes.io/instance-type"] == shape["shape"]
            assert n["metadata"]["labels"]["topology.kubernetes.io/region"] == inv["openedx_scale_region"]
            assert n["metadata"]["labels"]["oci.oraclecloud.com/fault-domain"] in inv["oke_cluster_fault_domains"]
            assert n["status"]["capacity"]["cpu"] == str(2 * shape["ocpus"])
            assert n["status"]["capacity"]["memory"] == f"{shape['memory_in_gbs']}Gi"
            assert n["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    if inventory == "example-jeddah":
        # The case study: 5 LMS nodes of 30 OCPU (60 vCPU) / 128 GB, and 2 services nodes.
        assert [n["status"]["capacity"]["cpu"] for n in nodes if n["metadata"]["name"].startswith("oke-lms-")] == ["60"] * 5
        assert len([n for n in nodes if n["metadata"]["name"].startswith("oke-services-")]) == 2
        lms_fds = [n["metadata"]["labels"]["oci.oraclecloud.com/fault-domain"] for n in nodes if n["metadata"]["name"].startswith("oke-lms-")]
        assert lms_fds == ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3", "FAULT-DOMAIN-1", "FAULT-DOMAIN-2"]


def test_bad_nodesets_name_the_problem(tmp_path):
    with pytest.raises(TestbedError, match=r"node set 'nope' not found: give one of example-jeddah, sandbox"):
        load_nodeset("nope")
    bad = tmp_path / "bad.yml"
    bad.write_text("---\nzone: Z\npools: []\n")
    with pytest.raises(TestbedError, match=r"missing region, pool_label_key"):
        load_nodeset(str(bad))
    bad.write_text("---\ninventory: nowhere\nzone: Z\npools: []\n")
    with pytest.raises(TestbedError, match=r"inventory 'nowhere' has no inventories/nowhere/group_vars/all"):
        load_nodeset(str(bad))
    bad.write_text("---\ninventory: sandbox\nzone: Z\npools: [{name: gpu, max_pods: 110, subnet: 10.0.12.0/24}]\n")
    with pytest.raises(TestbedError, match=r"tests/rehearsal/inventory does not define oke_cluster_gpu_count"):
        load_nodeset(str(bad))
    bad.write_text("---\nregion: r\nzone: Z\npool_label_key: k\npools: [{name: x, count: 1, colour: red}]\n")
    with pytest.raises(TestbedError, match=r"pools\[0\]: .*colour"):
        load_nodeset(str(bad))
