"""The HTML report at scale: 10 providers x 1,000 cases (synthetic records shaped like real
ones), its size, and the time headless Chromium takes to open it."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.reporting.html import write_html
from harness.reporting.summary import summarise
from harness.results import Record, Verdict
from harness.schema import load_catalogue

PROVIDERS = 10
CASES = 1000
# A realistic mix: most cases conform; some do not.
MIX = [Verdict.ACCEPTED] * 6 + [Verdict.REJECTED] * 2 + [Verdict.LENIENT, Verdict.IGNORED]


def synthetic_records() -> list[Record]:
    surface = load_catalogue()["llamacpp"]
    params = [p for p in surface.parameters if surface.parameters[p].sent]
    records = []
    for p in range(PROVIDERS):
        for i in range(CASES):
            param = params[i % len(params)]
            body = {"model": "m", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8, param: i}
            exchange = {
                "method": "POST",
                "url": "http://127.0.0.1:0/v1/chat/completions",
                "request": body,
                "outcome": "response",
                "status": 200,
                "response_excerpt": '{"choices": ["' + "x" * 300 + '"]}',
            }
            evidence = {
                "exchanges": [exchange],
                "reproducer": {
                    "curl": "curl -sS http://127.0.0.1:0/v1/chat/completions -d '...'" + "y" * 200,
                    "openai_sdk": "client.chat.completions.create(...)" + "z" * 200,
                },
            }
            verdict = MIX[(i * 7 + p) % len(MIX)]
            records.append(
                Record(
                    f"provider-{p:02d}",
                    "llamacpp",
                    f"{param}.case{i}",
                    param,
                    "range",
                    verdict,
                    f"HTTP 200 for {param}={i}",
                    evidence,
                    f"case{i}",
                    "accept",
                    i,
                    1,
                    8,
                )
            )
    return records


def run() -> list[dict[str, Any]]:
    records = synthetic_records()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        started = time.perf_counter()
        write_html(
            records,
            summarise(records),
            load_catalogue(),
            {r.provider: r.surface for r in records},
            {"date": "bench", "mode": "bench", "harness": "bench", "versions": {}, "requests": 0, "tokens": 0},
            path,
        )
        render = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
        open_s = _open_time(path)
    rows: list[dict[str, Any]] = [
        {"figure": f"report: {PROVIDERS} x {CASES} cases, render time (s)", "value": render},
        {"figure": f"report: {PROVIDERS} x {CASES} cases, file size (MB)", "value": size_mb, "goal": "<= 2"},
    ]
    if open_s is not None:
        rows.append({"figure": "report: open in headless Chromium (s)", "value": open_s, "goal": "<= 1"})
    return rows


def _open_time(path: Path) -> float | None:
    chromium = shutil.which("chromium")
    if chromium is None:
        print("   chromium not installed: open time not measured")
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page()
        page.goto("about:blank")
        started = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load")
        page.locator("td.cell").first.click()  # the evidence panel renders: the page is usable
        opened = time.perf_counter() - started
        browser.close()
    return opened
