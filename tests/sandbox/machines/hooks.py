"""OCI sandbox boot hooks: one systemd-nspawn machine per launched instance (the rehearsal's VMs).

The OCI sandbox calls `boot(event)` in a worker thread when an instance launches and reports the returned
address through the VNIC API; `destroy(event)` runs when the instance is terminated. Wire them with the
scenario's `boot_hook: {python: tests.sandbox.machines.hooks:boot, on_terminate_python: ...:destroy}`.
"""

from __future__ import annotations

import os
import re

from tests.sandbox.machines.core import Machines

_MAX_NAME = 31


def machine_name(resource: dict, prefix: str = "") -> str:
    """A valid machine name for an instance, unique across sandboxes: `<prefix><display name>-<run id><sequence>`.

    The sandbox's OCIDs end in its run id (6 hex digits) and a 7-digit sequence; the sequence alone repeats in every
    sandbox, so two sandboxes at once (a rehearsal and a test) would otherwise share machines."""
    display = re.sub(r"[^a-z0-9-]+", "-", str(resource.get("displayName", "vm")).lower()).strip("-") or "vm"
    if not (prefix or display[0].isalpha()):
        display = "vm-" + display
    ident = str(resource.get("id", "")).lower()
    found = re.search(r"([0-9a-f]{6})([0-9]{7})$", ident)
    tail = f"{found.group(1)}{int(found.group(2))}" if found else re.sub(r"[^a-z0-9]", "", ident)[-10:]
    room = _MAX_NAME - len(prefix) - len(tail) - 1
    return f"{prefix}{display[:room].rstrip('-')}-{tail}" if tail else f"{prefix}{display}"[:_MAX_NAME]


def _cpus(resource: dict) -> int:
    # One machine CPU per OCPU would over-commit this host; cap at what the host has.
    ocpus = int(float((resource.get("shapeConfig") or {}).get("ocpus") or 1))
    return max(1, min(ocpus, os.cpu_count() or 1))


def boot(event: dict, prefix: str = "", cpus: int | None = None) -> dict:
    """Boot the machine for a launched instance; returns once sshd and systemd are ready."""
    resource = event["resource"]
    machine = Machines().up([machine_name(resource, prefix)], cpus=cpus or _cpus(resource), log=lambda *_: None)[0]
    return {"private_ip": machine.ip, "public_ip": None}


def destroy(event: dict, prefix: str = "") -> None:
    """Remove the machine of a terminated instance (nothing left: process, namespace, link, mount)."""
    Machines().down([machine_name(event["resource"], prefix)])
