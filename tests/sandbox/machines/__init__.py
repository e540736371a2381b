"""systemd-nspawn machines standing in for VMs (see docs/vms.md).

Python API::

    from tests.sandbox.machines import Machines, machines

    with machines(["master", "worker1"], cpus={"worker1": 2}) as booted:
        booted["master"].ip  # reachable over SSH as root with Machines().key

    mgr = Machines()           # the OCI sandbox's boot hook: one machine per launched instance
    m = mgr.up(["inst-1"])[0]  # returns once sshd answers and systemd is `running`
    mgr.down(["inst-1"])

Each set of machines (one state directory; by default one per checkout) has its own bridge, /24, namespaces and
links, so several checkouts (and CI beside them) run machines at once; `mgr.network()` names them.
"""

from tests.sandbox.machines.core import BASE_DIR, Machine, MachineError, Machines, host_leftovers, machines

__all__ = ["BASE_DIR", "Machine", "MachineError", "Machines", "host_leftovers", "machines"]
