"""pytest plugin (``pytest11`` entry point): conformance units as test items.

    pytest --harness-provider llamacpp-local [--harness-model M] [--harness-schema S] [--harness-hold P=S]
           [--harness-mode replay] [--harness-out DIR] [--harness-probe-mode M]
           [--harness-no-seed] [--harness-jobs N] [-n 2 --dist loadfile]

or, in the project's pytest configuration (the command line wins over it)::

    [tool.pytest.ini_options]
    harness_providers = ["llamacpp-local"]
    harness_mode = "replay"

Each check unit of each column (a provider held to a surface: its own, those in its
``also_held_to``, ``--harness-hold`` ones; per model and route of the entry, or the models
``--harness-model`` names) becomes one item ``<column>::<unit>``, marked
``harness`` and added beside the project's own tests, never instead of them: ``-m harness``
runs the conformance items alone, ``-m "not harness"`` the rest. A column's items share the
first part of their node ids, which ``--dist loadfile`` sends to one worker (with ``-n``, any
other distribution is a usage error), so one worker owns a column, and its concurrency limit
and budget hold; within a process a column's items run together, whatever order other
plugins chose. An item fails on a non-conformance or missing evidence (a budget reached
included), skips when not run, passes otherwise. Workers send their records to the controller in the test reports'
``user_properties``; the controller alone writes results.jsonl and the reports, once, at the
end, into ``--harness-out`` or else a new ``reports/<time>-pytest`` folder.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.checks import load_families
from harness.checks.registry import Unit
from harness.engine import Admission, DedupingSender, not_started, plan, refusal, unit_records
from harness.errors import HarnessError
from harness.providers import load_providers, resolve_provider
from harness.redaction import scrub_text
from harness.reporting.reports import write_reports
from harness.results import FAILING, MISSING_EVIDENCE, Record, ResultsWriter, Verdict, budget_stopped
from harness.runs import (
    OPTIONS,
    ColumnOptions,
    Target,
    check_context,
    new_run_dir,
    open_column,
    with_overrides,
    writable_folder,
)
from harness.runs.setup import budget_of
from harness.runs.targets import conformance_targets, parse_hold
from harness.transport.cassettes import Mode

RECORDS_KEY = "harness_records"
MARKER = "harness"


# The run options the plugin takes (declared in harness.runs.options): --harness-<flag>, or
# the ini name, the command line winning.
PLUGIN_OPTIONS = ("provider", "model", "schema", "hold", "mode", "out", "probe_mode", "no_seed", "jobs")
INI_TYPES: dict[str, tuple[Any, Any]] = {"list": ("linelist", []), "flag": ("bool", False)}  # others: strings


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "provider conformance")
    for spec in (OPTIONS[name] for name in PLUGIN_OPTIONS):
        # No defaults on the command line: what is not given there comes from the ini file.
        group.addoption(
            spec.plugin_flag, dest=spec.plugin_dest, default=None, help=spec.described(ini=True), **spec.parsing()
        )
        kind, default = INI_TYPES.get(spec.kind, (None, ""))
        parser.addini(spec.ini, spec.help, type=kind, default=default)


class Settings:
    """The plugin's options: the command line over the ini file, each option on its own; a
    bad value is a usage error (one line, exit 4)."""

    def __init__(self, config: pytest.Config) -> None:
        def option(name: str) -> Any:
            spec = OPTIONS[name]
            given = config.getoption(spec.plugin_dest)
            return given if given is not None else spec.from_ini(config.getini(spec.ini))

        try:
            self.providers: list[str] = list(option("provider"))
            self.models: list[str] = list(option("model"))
            self.schema: str = option("schema") or ""
            self.holds: list[str] = list(option("hold"))
            self.mode: Mode = option("mode")
            self.out: str = str(option("out") or "")
            self.probe_mode: str | None = option("probe_mode")
            self.no_seed: bool = bool(option("no_seed"))
            self.jobs: int | None = option("jobs")
        except HarnessError as err:
            raise pytest.UsageError(str(err)) from err

    def targets(self) -> list[Target]:
        """The columns asked for; a wrong name is a usage error (one line, exit 4)."""
        if not self.providers:
            return []  # the plugin is installed but not asked for: no providers.toml needed
        try:
            providers = load_providers()
            holds = [parse_hold(text) for text in self.holds]
            chosen = [
                with_overrides(resolve_provider(name, providers), self.probe_mode, self.no_seed)
                for name in self.providers
            ]
            return conformance_targets(providers, chosen, holds, self.schema or None, self.models or None)[0]
        except HarnessError as err:
            raise pytest.UsageError(str(err)) from err

    def column_options(self) -> ColumnOptions:
        return ColumnOptions(mode=self.mode, jobs=self.jobs)


class ColumnRuntime:
    """One open column (``runs.open_column``, as the CLI and check-config run theirs) inside
    one process (a worker or the only one), and its planned units."""

    def __init__(self, target: Target, options: ColumnOptions) -> None:
        self.target = target
        # The provider entry's budget (budget_requests, budget_usd) holds here as in the CLI.
        options = replace(options, budget=budget_of(target.provider))
        with contextlib.ExitStack() as stack:
            self.column = stack.enter_context(open_column(target, options))
            self.planned = {unit.id: (check, unit) for check, unit in plan(self.column.ctx)}
            self.stack = stack.pop_all()
        self.done: dict[str, list[Record]] = {}
        self._admission: Admission | None = None

    def _run(self, check: str, unit: Unit) -> list[Record]:
        if unit.id not in self.done:
            why = self._refused(unit)
            if why is not None:
                self.done[unit.id] = [not_started(self.column.ctx, check, unit, why)]
            else:
                self.done[unit.id] = self.column.run(unit_records(self.column.ctx, unit))
        return self.done[unit.id]

    def _refused(self, unit: Unit) -> str | None:
        """Why a budget does not let ``unit`` start (units are admitted in the order they run)."""
        if self.column.options.budget is None:
            return None
        self._admission = self._admission or self.column.admission(list(self.planned.values()))
        return None if self._admission is None else refusal(self._admission, unit)

    def run(self, unit_id: str) -> list[Record]:
        """The records of one unit. A unit of a later phase (``Check.phase``: the gateway's,
        after the others; the response schemas', judging every exchange) first runs whatever
        of the earlier phases has not run yet, whatever order the scheduler chose; those
        units' own items then find their records already there."""
        check, unit = self.planned[unit_id]
        registry = load_families()
        phase = registry[check].phase
        if phase > 0 and unit.id not in self.done:
            earlier = [(c, u) for c, u in self.planned.values() if registry[c].phase < phase]
            for other_check, other in sorted(earlier, key=lambda pair: registry[pair[0]].phase):  # stable
                self._run(other_check, other)
        return self._run(check, unit)

    def close(self) -> None:
        self.stack.close()


class Runtimes:
    """At most one column open at a time: a local provider's servers (and its loop) are given
    up before the next column's start, so two never compete for the machine. A column that
    cannot be opened (unreachable, a launch that failed) is tried once: its other items get
    the same error. A column is opened once per process: opened again, it would start with
    its whole budget and without the exchanges its last checks judge, so its items left are
    an error instead (``pytest_collection_finish`` keeps a column's items together, so only
    a scheduler that splits them gets here)."""

    def __init__(self, options: ColumnOptions) -> None:
        self.options = options
        self.current: ColumnRuntime | None = None
        self.failed: dict[str, HarnessError] = {}
        self.closed: set[str] = set()

    def get(self, target: Target) -> ColumnRuntime:
        if target.column in self.failed:
            raise self.failed[target.column]
        if self.current is None or self.current.target.column != target.column:
            self.close()
            if target.column in self.closed:
                self.failed[target.column] = HarnessError(
                    f"column {target.column!r}: its items were not run together in this process (another "
                    "column's ran between them): the rest of them are not run, so its budget and its last "
                    "checks hold (with -n, use --dist loadfile)"
                )
                raise self.failed[target.column]
            try:
                self.current = ColumnRuntime(target, self.options)
            except HarnessError as err:
                self.failed[target.column] = err
                raise
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.closed.add(self.current.target.column)
            self.current.close()
            self.current = None


class ConformanceItem(pytest.Item):
    def __init__(self, *, target: Target, check: str, unit_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target, self.check, self.unit_id = target, check, unit_id
        self.add_marker(pytest.mark.harness(provider=target.provider.name, surface=target.surface.name, check=check))

    def runtest(self) -> None:
        settings: Settings = self.config.stash[SETTINGS]
        missing = self.target.provider.missing_key()
        if missing and settings.mode != "replay":
            pytest.skip(f"not run: set {missing}")
        records = self.config.stash[RUNTIMES].get(self.target).run(self.unit_id)
        # (user_properties reach pytest's own --junitxml, so they are scrubbed as results are.)
        self.user_properties.append((RECORDS_KEY, scrub_text(json.dumps([r.to_json() for r in records], default=str))))
        # As the strict gate: no evidence (not recorded, no usable answer) is no pass.
        failing = [r for r in records if r.verdict in FAILING or r.verdict in MISSING_EVIDENCE or budget_stopped(r)]
        if failing:
            raise ConformanceFailure(failing)
        if records and all(r.verdict is Verdict.NOT_RUN for r in records):
            pytest.skip(records[0].detail)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ConformanceFailure):
            return scrub_text("\n".join(f"{r.verdict.value}: {r.param}: {r.detail}" for r in excinfo.value.records))
        if isinstance(excinfo.value, HarnessError):  # the setup's fault, not the provider's: one line
            return scrub_text(f"harness: error: {excinfo.value}")
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int, str]:
        return self.target.column, 0, self.nodeid


class ColumnCollector(pytest.Collector):
    """A column's items, with node ids ``<column>::<unit>`` (the column is the node id)."""

    def __init__(self, *, target: Target, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target

    def collect(self) -> Iterator[ConformanceItem]:
        # A context with no sender: planning needs the matrix and the surface, not the network.
        planned = plan(check_context(self.target, DedupingSender(None)))
        registry = load_families()
        ordered = sorted(planned, key=lambda pair: registry[pair[0]].phase)  # stable: "after" units last
        for check, unit in ordered:
            yield ConformanceItem.from_parent(self, name=unit.id, target=self.target, check=check, unit_id=unit.id)


class ConformanceFailure(AssertionError):  # noqa: N818 - the provider failed, not the tool (see errors.py)
    def __init__(self, records: list[Record]) -> None:
        super().__init__(scrub_text(records[0].detail))
        self.records = records


SETTINGS = pytest.StashKey[Settings]()
TARGETS = pytest.StashKey[list[Target]]()
RUNTIMES = pytest.StashKey[Runtimes]()
COLLECTED = pytest.StashKey[list[dict[str, Any]]]()
OUT = pytest.StashKey[Path]()
COLLECTOR = pytest.StashKey["RecordCollector"]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(provider, surface, check): a conformance item of the harness plugin "
        f"(-m {MARKER} runs them alone, -m 'not {MARKER}' the project's own tests)",
    )
    settings = config.stash[SETTINGS] = Settings(config)
    # Wrong names are found here, before collection: one line, not an INTERNALERROR traceback.
    config.stash[TARGETS] = settings.targets()
    runs = config.stash[TARGETS] and not config.option.collectonly and not hasattr(config, "workerinput")
    if settings.out and runs:
        try:
            writable_folder(Path(settings.out), "--harness-out")  # before the run, not after it
        except HarnessError as err:
            raise pytest.UsageError(str(err)) from err
    if runs:
        _distribute_by_column(config)
    config.stash[RUNTIMES] = Runtimes(settings.column_options())
    config.stash[COLLECTED] = []
    config.stash[COLLECTOR] = RecordCollector(config)
    config.pluginmanager.register(config.stash[COLLECTOR], "harness-record-collector")


def _distribute_by_column(config: pytest.Config) -> None:
    """Under xdist, one worker per column: ``--dist loadfile`` sends the items of one first
    node-id part (``<column>::``) to one worker. Any other distribution splits a column over
    workers, each opening it with the whole budget and judging its last checks on a part of its
    exchanges: ``load`` (what ``-n`` gives alone), ``loadscope`` (a unit id may hold ``::``)
    and ``loadgroup``, whose ``xdist_group`` suffix pytest 9.2's node ids no longer take
    (xdist 3.8 sets ``item._nodeid``; pytest-xdist issue 1386), so it spreads the items as
    ``load`` does. A usage error where conformance items may run (not under
    ``-m "not harness"``)."""
    dist = getattr(config.option, "dist", "no")
    if dist in ("no", "loadfile") or not getattr(config.option, "tx", None):
        return
    if _selects_conformance_items(str(config.option.markexpr or "")):
        raise pytest.UsageError(
            f"harness: the conformance items need --dist loadfile (one worker per column), not --dist {dist}"
        )


def _selects_conformance_items(markexpr: str) -> bool:
    """Whether ``-m markexpr`` keeps items marked ``harness`` (an unreadable one: assume so)."""
    if not markexpr:
        return True
    try:
        from _pytest.mark.expression import Expression  # pytest's own reading of -m

        return Expression.compile(markexpr).evaluate(lambda name, /, **_kwargs: name == MARKER)
    except Exception:  # a private API: where it fails, the check holds
        return True


@pytest.hookimpl(tryfirst=True)  # before -m and -k deselect: they apply to these items too
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    for target in config.stash[TARGETS]:
        column = ColumnCollector.from_parent(session, name=target.column, nodeid=target.column, target=target)
        items.extend(column.collect())


@pytest.hookimpl(tryfirst=True)  # before xdist's worker sends the collection to the controller
def pytest_collection_finish(session: pytest.Session) -> None:
    """Each column's items together, where its first item is (other plugins may have
    reordered them: ``--ff``, random orders), in their own order; other items untouched."""
    columns: dict[str, list[pytest.Item]] = {}
    for item in session.items:
        if isinstance(item, ConformanceItem):
            columns.setdefault(item.target.column, []).append(item)
    if len(columns) < 2:
        return
    ordered: list[pytest.Item] = []
    for item in session.items:
        if not isinstance(item, ConformanceItem):
            ordered.append(item)
        elif columns[item.target.column] and columns[item.target.column][0] is item:
            ordered.extend(columns[item.target.column])
            columns[item.target.column] = []
    session.items[:] = ordered


class RecordCollector:
    """Receives every item's records: in the controller under xdist, else in the only process."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.seen = False  # whether any conformance item ran (-m "not harness" runs none)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seen = self.seen or MARKER in report.keywords
        for key, value in report.user_properties:
            if key == RECORDS_KEY and report.when == "call":
                self.config.stash[COLLECTED].extend(json.loads(str(value)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    config.stash[RUNTIMES].close()
    if hasattr(config, "workerinput") or not config.stash[COLLECTOR].seen:
        return  # a worker (the controller writes the files), or no conformance item ran
    settings = config.stash[SETTINGS]
    folder = writable_folder(Path(settings.out) if settings.out else new_run_dir("pytest"), "--harness-out")
    (folder / "results.jsonl").unlink(missing_ok=True)
    writer = ResultsWriter(folder / "results.jsonl")
    collected = config.stash[COLLECTED]
    for data in sorted(collected, key=lambda d: (d["provider"], d["unit_id"], d["case_id"], d["check"])):
        writer.write(Record.from_json(data))
    writer.close()
    write_reports(folder, {"date": "", "mode": settings.mode, "harness": "pytest", "versions": {}})
    config.stash[OUT] = folder


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if OUT in config.stash:
        terminalreporter.write_line(f"harness: results and reports in {config.stash[OUT]}")
