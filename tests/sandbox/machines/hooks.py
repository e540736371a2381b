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


def machine_name(resource: dict) -> str:
    """A valid, stable machine name for an instance: its display name, made unique by its OCID's tail."""
    display = re.sub(r"[^a-z0-9-]+", "-", str(resource.get("displayName", "vm")).lower()).strip("-") or "vm"
    if not display[0].isalpha():
        display = "vm-" + display
    tail = re.sub(r"[^a-z0-9]", "", str(resource.get("id", "")).lower())[-6:]
    return f"{display[: _MAX_NAME - len(tail) - 1]}-{tail}" if tail else display[:_MAX_NAME]


def _cpus(resource: dict) -> int:
    # One machine CPU per OCPU would over-commit this host; cap at what the host has.
    ocpus = int(float((resource.get("shapeConfig") or {}).get("ocpus") or 1))
    return max(1, min(ocpus, os.cpu_count() or 1))


def boot(event: dict) -> dict:
    """Boot the machine for a launched instance; returns once sshd and systemd are ready."""
    resource = event["resource"]
    machine = Machines().up([machine_name(resource)], cpus=_cpus(resource), log=lambda *_: None)[0]
    return {"private_ip": machine.ip, "public_ip": None}


def destroy(event: dict) -> None:
    """Remove the machine of a terminated instance (nothing left: process, namespace, link, mount)."""
    Machines().down([machine_name(event["resource"])])
