"""Service routes. Importing this package registers every route in router.ROUTES."""

from . import admin, compute, containerengine, identity, limits, mysql, network

# Imported for their @route registrations; listed so the server can name what it serves.
SERVICES = (identity, compute, containerengine, network, limits, mysql, admin)
