"""Put this directory on PYTHONPATH to run the collection's OCI waits on the OCI sandbox's virtual clock.

Its sitecustomize.py runs in every Python process that starts with it on the path, including the ones Ansible
starts for our modules, and swaps the product's RealClock for SandboxClock there (see oci_sandbox_clock).
"""
