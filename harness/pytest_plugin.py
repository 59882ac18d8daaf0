"""pytest plugin (entry point ``pytest11``): conformance cases as test items (filled in below)."""
