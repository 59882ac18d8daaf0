"""Documented parameter surfaces: load the JSON Schemas in ``schemas/`` and check them
against the harness meta-schema. Imports nothing of the rest of the harness but errors."""

from harness.schema.catalogue import (
    check_response_schemas,
    load_catalogue,
    load_surface,
    response_schema,
    surface_named,
)
from harness.schema.model import Parameter, Surface

__all__ = [
    "Parameter",
    "Surface",
    "check_response_schemas",
    "load_catalogue",
    "load_surface",
    "response_schema",
    "surface_named",
]
