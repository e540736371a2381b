"""Host-wide names of a machine set: each set (one state directory, one checkout) claims its own bridge and /24, and
never one that another set, an older checkout's osm-br0 or any link on this host uses."""

from __future__ import annotations

import ipaddress
import subprocess

from tests.sandbox.machines.core import LEGACY_OCTET, Machines


def _host_nets() -> list[ipaddress.IPv4Network]:
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    return [ipaddress.ip_interface(ln.split()[3]).network for ln in out.splitlines()]


def test_two_sets_get_their_own_names_and_keep_them(tmp_path):
    claims = tmp_path / "claims"
    a, b = Machines(tmp_path / "a", claims_dir=claims), Machines(tmp_path / "b", claims_dir=claims)
    net_a, net_b = a.network(), b.network()
    assert net_a["bridge"] != net_b["bridge"] and all(len(n["bridge"]) <= 15 for n in (net_a, net_b))
    assert net_a["subnet"] != net_b["subnet"]
    for net in (a.subnet, b.subnet):
        assert net.subnet_of(ipaddress.ip_network("10.199.0.0/16")) and str(net) != f"10.199.{LEGACY_OCTET}.0/24"
        assert not any(net.overlaps(h) for h in _host_nets())
    # Another process of the same set (same directory) finds the same claim.
    assert Machines(tmp_path / "a", claims_dir=claims).network() == net_a
    assert sorted(p.read_text().strip() for p in claims.glob("[0-9]*")) == sorted([str(a.base), str(b.base)])


def test_a_live_claim_is_skipped_and_a_stale_one_taken_over(tmp_path):
    claims = tmp_path / "claims"
    first = Machines(tmp_path / "a", claims_dir=claims)
    octet = str(first.subnet.network_address).split(".")[2]
    # A set in another directory whose hash starts at the same /24: it moves on while the owner exists ...
    (tmp_path / "a2").mkdir()
    clash = Machines(tmp_path / "a2", claims_dir=claims)
    clash.ident = first.ident
    assert clash.subnet != first.subnet
    # ... and takes it once the owner's directory is gone (a deleted checkout releases its claim).
    (claims / octet).write_text(f"{tmp_path / 'deleted-checkout'}\n")
    again = Machines(tmp_path / "a3", claims_dir=claims)
    again.ident = first.ident
    assert again.subnet == first.subnet


def test_a_pinned_subnet_claims_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENEDX_SCALE_MACHINES_SUBNET", "10.198.3.0/24")
    mgr = Machines(tmp_path / "a", claims_dir=tmp_path / "claims")
    assert mgr.network()["host_ip"] == "10.198.3.1"
    assert not (tmp_path / "claims").exists()
