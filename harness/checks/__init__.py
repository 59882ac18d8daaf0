"""Checks: from exchanges to verdicts. A check is a registered async function of one family
module; importing the family registers it, and adding one needs no other change."""

from harness.checks.registry import CHECKS, Check, CheckContext, check, load_families

__all__ = ["CHECKS", "Check", "CheckContext", "check", "load_families"]
