"""The rehearsal harness: `make rehearsal` runs the product's playbooks on local stand-ins.

Layout (none of it is in the built collection; galaxy.yml's build_ignore drops tests/):
- rehearsal.yml: the whole pipeline (start the stand-ins, the four stages, teardown, stop them);
- sandbox.yml: start or stop the stand-ins on their own;
- roles/sandbox: the role both call (found next to the playbooks, as Ansible looks up roles);
- inventory/: the inventory every test and the rehearsal run the product's playbooks with.
"""

from __future__ import annotations

from pathlib import Path

REHEARSAL_DIR = Path(__file__).resolve().parent
REPO = REHEARSAL_DIR.parents[1]
INVENTORY = REHEARSAL_DIR / "inventory"
PLAYBOOK = REHEARSAL_DIR / "rehearsal.yml"
SANDBOX_PLAYBOOK = REHEARSAL_DIR / "sandbox.yml"


def inventory_path(name: str) -> Path:
    """`sandbox` is the rehearsal's inventory (tests/rehearsal/inventory); any other name is a shipped one (inventories/<name>)."""
    return INVENTORY if name == "sandbox" else REPO / "inventories" / name
