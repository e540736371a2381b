"""Fake AWX controller (REST API v2 subset) for testing playbooks/awx_configure.yml without a real AWX."""

from .server import FakeAWX, scan_project, validate_survey

__all__ = ["FakeAWX", "scan_project", "validate_survey"]
