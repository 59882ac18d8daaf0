"""Running a provider: where it answers, the client built from its entry, the run folder and
the loop over its units. Shared by every entry point (the commands, the pytest plugin,
check-config), which only parse, call these and print."""

from harness.runs.folders import new_run_dir, writable_folder
from harness.runs.runner import RunOptions, check_context, measured_profile, run_provider, run_with_endpoints
from harness.runs.setup import client_settings, preflight, provider_endpoints, with_overrides
from harness.runs.targets import Target, column_name, conformance_targets, not_run_record

__all__ = [
    "RunOptions",
    "Target",
    "check_context",
    "client_settings",
    "column_name",
    "conformance_targets",
    "measured_profile",
    "new_run_dir",
    "not_run_record",
    "preflight",
    "provider_endpoints",
    "run_provider",
    "run_with_endpoints",
    "with_overrides",
    "writable_folder",
]
