"""Checks: from exchanges to verdicts. A check is a set of probes (``@probe``, one function
each) or a function of units (``@check``) in a family module; importing the family registers
it, and adding one needs no other change."""

from harness.checks.context import CheckContext
from harness.checks.findings import Finding
from harness.checks.registry import CHECKS, Check, check, load_families, probe, probe_each

__all__ = ["CHECKS", "Check", "CheckContext", "Finding", "check", "load_families", "probe", "probe_each"]
