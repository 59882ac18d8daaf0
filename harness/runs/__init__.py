"""Running a provider: one column opened the same way for every entry point (``open_column``:
where it answers, the client built from its entry, the cassette, the check context), the run
folder, and the run options each entry point renders (``options``). The commands, the pytest
plugin and check-config only parse, call these and print."""

from harness.runs.folders import new_run_dir, writable_folder
from harness.runs.options import OPTIONS, Option, add_arguments
from harness.runs.runner import (
    Column,
    ColumnOptions,
    RunOptions,
    check_context,
    open_column,
    run_provider,
)
from harness.runs.setup import client_settings, preflight, provider_endpoints, with_overrides
from harness.runs.targets import Target, column_name, conformance_targets, not_run_record

__all__ = [
    "OPTIONS",
    "Column",
    "ColumnOptions",
    "Option",
    "RunOptions",
    "Target",
    "add_arguments",
    "check_context",
    "client_settings",
    "column_name",
    "conformance_targets",
    "new_run_dir",
    "not_run_record",
    "open_column",
    "preflight",
    "provider_endpoints",
    "run_provider",
    "with_overrides",
    "writable_folder",
]
