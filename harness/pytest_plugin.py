"""pytest plugin (``pytest11`` entry point): conformance units as test items.

    pytest --harness-provider llamacpp-local [--harness-schema S] [--harness-mode replay]
           [--harness-out DIR] [-n 2 --dist loadgroup]

Each check unit of each provider becomes one item, in an ``xdist_group`` per provider, so
under ``--dist loadgroup`` one worker owns a provider and its concurrency limit holds. An
item fails on a non-conformance, skips when not run or not recorded, passes otherwise.
Workers send their records to the controller in the test reports' ``user_properties``; the
controller alone writes results.jsonl and the reports, once, at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.checks import CheckContext, load_families
from harness.checks.registry import Unit
from harness.engine import DedupingSender, plan
from harness.errors import ConfigError, HarnessError
from harness.generation import build_matrix
from harness.providers import Provider, load_providers, resolve_provider
from harness.redaction import scrub_text
from harness.results import FAILING, MISSING_EVIDENCE, Record, ResultsWriter, Verdict
from harness.schema import Surface, load_catalogue
from harness.transport import ClientSettings, ProviderClient
from harness.transport.cassettes import cassette, cassette_path

RECORDS_KEY = "harness_records"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "provider conformance")
    group.addoption("--harness-provider", action="append", default=[], help="provider from providers.toml")
    group.addoption("--harness-schema", default=None, help="hold the providers to this surface")
    group.addoption("--harness-mode", default="replay", choices=("live", "record", "replay"))
    group.addoption("--harness-out", default=None, help="folder for results.jsonl and the reports")


class ProviderRuntime:
    """One provider's client, loop and cassette inside one process (a worker or the only one)."""

    def __init__(self, provider: Provider, surface: Surface, mode: str) -> None:
        self.provider, self.surface, self.mode = provider, surface, mode
        self.loop = asyncio.new_event_loop()
        self.stack = contextlib.ExitStack()
        from harness.workflows import provider_endpoints

        endpoints = self.stack.enter_context(provider_endpoints(provider, mode))  # type: ignore[arg-type]
        self.base_url = endpoints.base_url
        from harness import paths

        self.stack.enter_context(
            cassette(
                cassette_path(paths.cassettes_dir(), provider.name, surface.name),
                mode,  # type: ignore[arg-type]
                local=provider.is_local,
            )
        )
        settings = ClientSettings(
            base_url=self.base_url,
            embeddings_base_url=endpoints.embeddings_base_url,
            api_key=provider.api_key(),
            headers=provider.resolved_headers(),
            max_parallel_requests=provider.max_parallel_requests,
            timeout=provider.timeout,
            wait=mode != "replay",
        )
        self.client = ProviderClient(settings)
        self.ctx = CheckContext(
            provider.name,
            surface,
            provider.model,
            build_matrix(surface, provider.model),
            DedupingSender(self.client, provider.name, provider.api_key_env),
            api_key_env=provider.api_key_env,
            base_url=provider.resolved_base_url(),
            send_seed=provider.send_seed,
            probe_mode=provider.probe_mode,
        )

        self.planned = {unit.id: (check, unit) for check, unit in plan(self.ctx)}
        self.done: dict[str, list[Record]] = {}

    def _run(self, unit: Unit) -> list[Record]:
        if unit.id not in self.done:
            records = self.loop.run_until_complete(unit.run())
            for record in records:
                record.unit_id = unit.id
            self.done[unit.id] = records
        return self.done[unit.id]

    def run(self, unit_id: str) -> list[Record]:
        """The records of one unit. A unit that must see every exchange (response schemas)
        first runs whatever has not run yet, whatever order the scheduler chose; those units'
        own items then find their records already there."""
        check, unit = self.planned[unit_id]
        if load_families()[check].after_others:
            for other_check, other in self.planned.values():
                if not load_families()[other_check].after_others:
                    self._run(other)
        return self._run(unit)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.__aexit__())
        self.loop.close()
        self.stack.close()


class Runtimes:
    """At most one provider open at a time: cassettes patch httpx process-wide."""

    def __init__(self, mode: str, schema: str | None) -> None:
        self.mode, self.schema = mode, schema
        self.current: ProviderRuntime | None = None

    def get(self, provider: Provider, surface: Surface) -> ProviderRuntime:
        if self.current is None or self.current.provider.name != provider.name:
            self.close()
            self.current = ProviderRuntime(provider, surface, self.mode)
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None


class ConformanceItem(pytest.Item):
    def __init__(self, *, provider: Provider, surface: Surface, check: str, unit_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.provider, self.surface, self.check, self.unit_id = provider, surface, check, unit_id
        self.add_marker(pytest.mark.xdist_group(provider.name))

    def runtest(self) -> None:
        missing = self.provider.missing_key()
        if missing and self.config.getoption("harness_mode") != "replay":
            pytest.skip(f"not run: set {missing}")
        runtimes: Runtimes = self.config.stash[RUNTIMES]
        runtime = runtimes.get(self.provider, self.surface)
        records = runtime.run(self.unit_id)
        # (user_properties reach pytest's own --junitxml, so they are scrubbed as results are.)
        self.user_properties.append((RECORDS_KEY, scrub_text(json.dumps([r.to_json() for r in records], default=str))))
        # As the strict gate: no evidence (not recorded, no usable answer) is no pass.
        failing = [r for r in records if r.verdict in FAILING or r.verdict in MISSING_EVIDENCE]
        if failing:
            raise ConformanceFailure(failing)
        if records and all(r.verdict is Verdict.NOT_RUN for r in records):
            pytest.skip(records[0].detail)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ConformanceFailure):
            return scrub_text("\n".join(f"{r.verdict.value}: {r.param}: {r.detail}" for r in excinfo.value.records))
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int, str]:
        return self.provider.name, 0, f"{self.provider.name}::{self.unit_id}"


class ConformanceFailure(AssertionError):  # noqa: N818 - the provider failed, not the tool (see errors.py)
    def __init__(self, records: list[Record]) -> None:
        super().__init__(scrub_text(records[0].detail))
        self.records = records


RUNTIMES = pytest.StashKey[Runtimes]()
COLLECTED = pytest.StashKey[list[dict[str, Any]]]()


def _items_for(session: pytest.Session, provider: Provider, surface: Surface) -> Iterator[ConformanceItem]:
    # A context with no sender: planning needs the matrix and the surface, not the network.
    ctx = CheckContext(
        provider.name, surface, provider.model, build_matrix(surface, provider.model), DedupingSender(None)
    )
    planned = plan(ctx)
    registry = load_families()
    ordered = sorted(planned, key=lambda pair: registry[pair[0]].after_others)  # stable: "after" units last
    for check, unit in ordered:
        yield ConformanceItem.from_parent(
            session,
            name=f"{provider.name}::{unit.id}",
            provider=provider,
            surface=surface,
            check=check,
            unit_id=unit.id,
        )


def pytest_configure(config: pytest.Config) -> None:
    _check_options(config)
    config.stash[RUNTIMES] = Runtimes(config.getoption("harness_mode"), config.getoption("harness_schema"))
    config.stash[COLLECTED] = []
    config.pluginmanager.register(RecordCollector(config), "harness-record-collector")


def _check_options(config: pytest.Config) -> None:
    """A wrong provider or surface is a usage error (pytest's exit 4, one line), found before
    collection: not an INTERNALERROR traceback."""
    names = config.getoption("harness_provider")
    if not names:
        return
    try:
        providers = load_providers()
        catalogue = load_catalogue()
        for name in names:
            provider = resolve_provider(name, providers)
            schema = config.getoption("harness_schema") or provider.schema_name
            if schema not in catalogue:
                raise ConfigError(f"unknown schema {schema!r}; known surfaces: {', '.join(sorted(catalogue))}")
    except HarnessError as err:
        raise pytest.UsageError(str(err)) from err


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    names = config.getoption("harness_provider")
    if not names:
        return
    providers = load_providers()
    catalogue = load_catalogue()
    # With --harness-provider, the run is the conformance items alone (not the project's tests).
    items.clear()
    for name in names:
        provider = resolve_provider(name, providers)
        surface = catalogue[config.getoption("harness_schema") or provider.schema_name]
        items.extend(_items_for(session, provider, surface))


class RecordCollector:
    """Receives every item's records: in the controller under xdist, else in the only process."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            if key == RECORDS_KEY and report.when == "call":
                self.config.stash[COLLECTED].extend(json.loads(str(value)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    config.stash[RUNTIMES].close()
    if hasattr(config, "workerinput") or not config.getoption("harness_provider"):
        return  # a worker: the controller writes the files
    out = config.getoption("harness_out")
    if not out:
        return
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.jsonl").unlink(missing_ok=True)
    writer = ResultsWriter(folder / "results.jsonl")
    collected = config.stash[COLLECTED]
    for data in sorted(collected, key=lambda d: (d["provider"], d["unit_id"], d["case_id"], d["check"])):
        writer.write(Record.from_json(data))
    writer.close()
    from harness.conformance import write_reports

    write_reports(folder, {"date": "", "mode": config.getoption("harness_mode"), "harness": "pytest", "versions": {}})
