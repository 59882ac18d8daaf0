"""The HTML report in a real headless Chromium (Debian's package, driven by Playwright):
it loads with no console errors, the matrix and a cell's evidence show, and provider text
that carries markup runs no script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.reporting.html import write_html
from harness.reporting.summary import summarise
from harness.results import Record, Verdict, worst
from harness.schema import Surface
from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCRIPT = "<script>window.__pwned = 1</script>"
ATTRIBUTE = '"><img src=x onerror="window.__pwned = 2">'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `nox -s tests` installs Debian's chromium")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def _hostile_records() -> list[Record]:
    exchange = {
        "request": {"model": "m", "temperature": 3},
        "status": 200,
        "outcome": "response",
        "response_excerpt": f'{{"content": "{SCRIPT}{ATTRIBUTE}"}}',
        "error": "",
    }
    evidence = {
        "exchanges": [exchange],
        "reproducer": {"curl": f"curl -d '{SCRIPT}'", "openai_sdk": ATTRIBUTE},
    }
    return [
        Record(
            "llamacpp-local",
            "llamacpp",
            "temperature.max-outside.x",
            "temperature",
            "range",
            Verdict.LENIENT,
            f"accepted although documented as invalid {SCRIPT}",
            evidence,
            "max-outside",
            "reject",
            3,
        ),
        Record(
            "llamacpp-local",
            "llamacpp",
            "passthrough.top_k",
            "top_k",
            "passthrough",
            Verdict.HONOURED,
            f"top_k=1 equals greedy {ATTRIBUTE}",
            evidence,
            "effect",
            "",
            1,
        ),
        Record("oruel", "oruel", "not-run.oruel", "*", "setup", Verdict.NOT_RUN, "not run: set ORUEL_API_KEY"),
    ]


def test_report_renders_evidence_and_runs_no_provider_script(
    browser: Any, tmp_path: Path, catalogue: dict[str, Surface]
) -> None:
    records = _hostile_records()
    path = tmp_path / "report.html"
    write_html(
        records,
        summarise(records),
        catalogue,
        {"llamacpp-local": "llamacpp", "oruel": "oruel"},
        {
            "date": "2026-11-22",
            "mode": "replay",
            "harness": "test",
            "versions": {},
            "requests": 3,
            "tokens": 10,
        },
        path,
    )
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    page.on(
        "request",
        lambda req: problems.append(f"network: {req.url}") if not req.url.startswith("file:") else None,
    )
    page.goto(path.as_uri())
    assert page.locator("#matrix tbody tr[data-param='temperature']").is_visible()
    assert page.locator("th[data-provider='oruel']").inner_text().startswith("oruel")
    # The documented-only column shows Oru'el's documented range for temperature.
    assert "[0, 2], default 0.7" in page.locator("tr[data-param='temperature'] td[data-provider='oruel']").inner_text()
    page.locator("tr[data-param='temperature'] td[data-provider='llamacpp-local']").click()
    panel = page.locator("#evidence-panel")
    assert "LENIENT" in panel.inner_text() and SCRIPT in panel.inner_text()
    page.locator("tr[data-param='top_k'] td[data-provider='llamacpp-local']").click()
    assert ATTRIBUTE in panel.inner_text()
    page.select_option("#f-verdict", "FAILING")
    assert page.locator("tr[data-param='top_k']").is_hidden()
    assert page.locator("tr[data-param='temperature']").is_visible()
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img").count() == 0
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert problems == []
    page.close()


def test_the_shipped_report_loads_cleanly(browser: Any, tmp_path: Path) -> None:
    # In a subprocess: Playwright's sync API owns this thread's event loop.
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "conformance",
        "--out",
        str(tmp_path / "run"),
        "--gate",
        "none",
    ]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto((tmp_path / "run/report.html").as_uri())
    rows = page.locator("#matrix tbody tr").count()
    assert rows > 50
    page.locator("tr[data-param='repeat_penalty'] td[data-provider='llamacpp-local']").click()
    assert "the documented default repeat_penalty=1.1 is not applied" in page.locator("#evidence-panel").inner_text()
    assert errors == []
    page.close()


# --- the overview: 30 columns at 1600 px ---------------------------------------------------------

SURFACES = ["llamacpp", "openai", "openrouter"]
OVERVIEW_MIX = [Verdict.HONOURED, Verdict.ACCEPTED, Verdict.ACCEPTED, Verdict.REJECTED, Verdict.IGNORED]


def _thirty_columns(catalogue: dict[str, Surface]) -> tuple[list[Record], dict[str, str]]:
    """30 columns (long names, three surfaces), each parameter's range and effect cells given
    verdicts that vary by column and parameter; one column not run."""
    records: list[Record] = []
    columns: dict[str, str] = {}
    for number in range(30):
        surface = SURFACES[number % 3]
        column = f"provider-{number:02d}-with-a-long-name@{surface}"
        columns[column] = surface
        if number == 29:
            records.append(
                Record(column, surface, f"not-run.{column}", "*", "setup", Verdict.NOT_RUN, "not run: set KEY_29")
            )
            continue
        sent = [name for name, p in catalogue[surface].parameters.items() if p.sent]
        for index, param in enumerate(sent):
            effect = OVERVIEW_MIX[(number + index) % len(OVERVIEW_MIX)]
            exchange = {"url": "http://127.0.0.1:0/v1/chat/completions", "request": {"model": "m", param: 1}}
            for check, verdict in (("range", Verdict.ACCEPTED), ("effect", effect)):
                records.append(
                    Record(
                        column,
                        surface,
                        f"{check}.{param}",
                        param,
                        check,
                        verdict,
                        f"{param} {verdict}",
                        {"exchanges": [exchange]},
                        check,
                    )
                )
    return records, columns


def test_the_overview_fits_1600_px_for_30_columns_and_links_to_the_detail(
    browser: Any, tmp_path: Path, catalogue: dict[str, Surface]
) -> None:
    records, columns = _thirty_columns(catalogue)
    path = tmp_path / "report.html"
    meta = {"date": "2026-12-02", "mode": "replay", "harness": "test", "versions": {}, "requests": 0, "tokens": 0}
    write_html(records, summarise(records), catalogue, columns, meta, path)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    page.goto(path.as_uri())
    page.screenshot(path=str(tmp_path / "overview.png"))
    grid = page.locator("#overview-grid")
    width = grid.evaluate("node => [node.scrollWidth, node.clientWidth]")
    assert width[0] <= width[1], width
    assert page.evaluate("document.documentElement.scrollWidth") <= 1600
    params = page.locator("#matrix tbody tr").count()
    assert page.locator("#overview-grid a.sq").count() == 30 * params
    assert page.locator("#overview-bars .bar-row").count() == 30
    # The not-run column's squares say so; a run one carries its worst verdict and the words.
    row = page.locator("#overview-grid tbody tr").filter(has=page.locator("th", has_text="top_p")).first
    last = row.locator("a.sq").nth(29)
    assert "none" in (last.get_attribute("class") or "") and (last.get_attribute("title") or "").endswith(
        "top_p: not run: set KEY_29"
    )
    square = row.locator("a.sq").nth(5)
    title = square.get_attribute("title") or ""
    assert title.startswith("provider-05-with-a-long-name@openrouter \u00b7 top_p: effect ")
    effect = title.split("effect ")[1].split(",")[0]
    assert title.endswith(", range ACCEPTED")
    # The worst of the two: IGNORED over ACCEPTED over REJECTED ... as the detail's cells rank them.
    expected = worst([Verdict(effect), Verdict.ACCEPTED]).value
    assert f"v-{expected}" in (square.get_attribute("class") or "")
    # A click opens that cell of the detail and its evidence.
    square.click()
    target = (square.get_attribute("href") or "").lstrip("#")
    cell = page.locator(f"td#{target}")
    assert "selected" in (cell.get_attribute("class") or "")
    assert cell.get_attribute("data-provider") == "provider-05-with-a-long-name@openrouter"
    assert page.evaluate("location.hash") == f"#{target}"
    assert page.locator("#evidence-panel h2").inner_text() == "provider-05-with-a-long-name@openrouter \u00b7 top_p"
    assert cell.is_visible()
    page.screenshot(path=str(tmp_path / "overview-clicked.png"))
    assert problems == []
    page.close()
