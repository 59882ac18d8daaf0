"""Request matrices: from a documented surface, the cases that test it. Knows schemas, not
providers' behaviour or transport."""

from harness.generation.matrix import OMITTED, Case, build_matrix, canonical_json, keep_expectations

__all__ = ["OMITTED", "Case", "build_matrix", "canonical_json", "keep_expectations"]
