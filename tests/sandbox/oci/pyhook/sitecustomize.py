"""Python runs this at start-up when tests/sandbox/oci/pyhook is on PYTHONPATH: see oci_sandbox_clock."""

import oci_sandbox_clock

oci_sandbox_clock.install_from_env()
