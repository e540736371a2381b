"""`podman` stand-in for the real AWX fixture (tests/helpers/awx): runs a job's container command on this host."""
