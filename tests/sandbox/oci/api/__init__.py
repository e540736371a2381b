"""Service routes. Importing this package registers every route in router.ROUTES."""

from . import admin, compute, containerengine, identity  # noqa: F401
