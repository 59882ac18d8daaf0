"""JUnit XML: one test case per provider x parameter x check, so any CI shows the matrix as
tests. Failing verdicts are failures (with their evidence), and so are records a caller's
rule adds (`harness check-config` fails a config on a REJECTED static check); not-run and
not-recorded are skipped; everything else passes."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from harness.reporting.reference import Grading
from harness.reporting.summary import Cell
from harness.results import Record, Verdict

SKIPPED = {Verdict.NOT_RUN, Verdict.NOT_RECORDED}


def _evidence_text(records: list[Record]) -> str:
    parts = []
    for record in records:
        parts.append(f"[{record.verdict.value}] {record.case_id}: {record.detail}")
        repro = record.evidence.get("reproducer", {}).get("curl")
        if repro:
            parts.append(f"  reproduce: {repro}")
        exchanges = record.evidence.get("exchanges") or []
        if exchanges:
            parts.append(f"  response: {json.dumps(exchanges[-1].get('response_excerpt', ''))[:400]}")
    return "\n".join(parts)


def write_junit(
    cells: list[Cell],
    path: Path,
    elapsed_s: float = 0.0,
    also_failing: Callable[[Record], bool] | None = None,
    gradings: list[Grading] | None = None,
) -> None:
    """Write ``cells`` as JUnit XML to ``path``. A cell also fails when ``also_failing`` holds
    for any of its records, whatever the cell's (worst) verdict: so a run's exit code and its
    junit.xml can follow the same rule."""
    suites = ET.Element("testsuites", name="provider-conformance")
    by_provider: dict[str, list[Cell]] = {}
    for cell in cells:
        by_provider.setdefault(cell.provider, []).append(cell)
    total = failures = skipped = 0
    for provider, group in by_provider.items():
        suite = ET.SubElement(suites, "testsuite", name=provider)
        n_fail = n_skip = 0
        for cell in group:
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"{cell.param} [{cell.check}]",
                classname=f"{provider}.{cell.surface}",
                time="0",
            )
            if cell.failing:
                # The records behind the cell's verdict, not its first record (often a conforming one).
                shown = cell.worst_records(3)
            else:
                ranked = cell.worst_records(len(cell.records))
                shown = [r for r in ranked if also_failing is not None and also_failing(r)][:3]
            if shown:
                n_fail += 1
                first = shown[0]
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=f"{first.verdict.value}: {first.detail}"[:500],
                    type=first.verdict.value,
                )
                failure.text = _evidence_text(shown)
            elif cell.verdict in SKIPPED:
                n_skip += 1
                ET.SubElement(case, "skipped", message=f"{cell.verdict.value}: {cell.worst_records(1)[0].detail}")
            else:
                out = ET.SubElement(case, "system-out")
                out.text = f"{cell.verdict.value}: {cell.worst_records(1)[0].detail}"
        suite.set("tests", str(len(group)))
        suite.set("failures", str(n_fail))
        suite.set("errors", "0")
        suite.set("skipped", str(n_skip))
        suite.set("time", f"{elapsed_s:.3f}")
        total, failures, skipped = total + len(group), failures + n_fail, skipped + n_skip
    for grading in gradings or []:
        n_tests, n_fail = _grading_suite(suites, grading, elapsed_s)
        total, failures = total + n_tests, failures + n_fail
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", "0")
    suites.set("skipped", str(skipped))
    suites.set("time", f"{elapsed_s:.3f}")
    for element in suites.iter():
        element.text = _xml_safe(element.text)
        element.attrib = {name: _xml_safe(value) or "" for name, value in element.attrib.items()}
    ET.indent(suites)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def _grading_suite(suites: ET.Element, grading: Grading, elapsed_s: float) -> tuple[int, int]:
    """One test suite per graded pair: a test case per parameter x check, failing where the
    policy fails the difference, passing (the comparison in its output) otherwise."""
    pairing = grading.pairing
    suite = ET.SubElement(suites, "testsuite", name=f"graded: {grading.name} ({pairing.policy})")
    n_fail = 0
    for cell in grading.cells:
        case = ET.SubElement(
            suite, "testcase", name=cell.key, classname=f"{pairing.candidate}.vs.{pairing.reference}", time="0"
        )
        why = "\n".join(f"{c.case_id}: {c.kind.value}: {c.why}" for c in cell.worst_cases())
        if cell.kind in grading.failing_kinds:
            n_fail += 1
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{cell.kind.value}: reference {cell.reference_verdict}, candidate {cell.candidate_verdict}",
                type=cell.kind.value,
            )
            failure.text = why
        else:
            ET.SubElement(case, "system-out").text = f"{cell.kind.value}\n{why}"
    tests = len(grading.cells)
    if grading.tools is not None:
        tests += 1
        case = ET.SubElement(suite, "testcase", name="tool-call agreement", classname=suite.get("name", ""), time="0")
        if grading.tools.passes is False:
            n_fail += 1
            ET.SubElement(case, "failure", message=grading.tools.describe()[:500], type="tool-agreement")
        else:
            ET.SubElement(case, "system-out").text = grading.tools.describe()
    suite.set("tests", str(tests))
    suite.set("failures", str(n_fail))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    suite.set("time", f"{elapsed_s:.3f}")
    return tests, n_fail


# What XML 1.0 cannot hold at all, not even escaped: most control characters, lone surrogates,
# U+FFFE and U+FFFF. A provider's text may contain any of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str | None) -> str | None:
    if text is None:
        return None
    return _NOT_XML.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text
    )
