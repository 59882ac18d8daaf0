"""Judge of the model name: a request naming a model the provider does not serve must be
refused. OpenAI and vLLM answer 404 (``model_not_found``); SGLang answers 400; llama.cpp
answers 200 with whatever model it loaded, so a team's typo runs against the wrong model and
nothing says so."""

from __future__ import annotations

from collections.abc import Iterable

from harness.checks.judges.outcome import VALIDATION_STATUSES, Judgement, probe_failure, unusable
from harness.checks.judges.shapes import Pair
from harness.results import Verdict

# OpenAI's letter: an unknown model is "404 model_not_found".
OPENAI_STATUS = 404


def judge_unknown_model(pair: Pair, unknown: str, statuses: Iterable[int] = VALIDATION_STATUSES) -> Judgement:
    """``pair.probe``: the plain request naming ``unknown``, a model nobody serves;
    ``pair.base``: the same request naming the configured model, which must be answered (else a
    refusal of the unknown name says nothing about names)."""
    # No shared guard on the probe: its refusal is the verdict. The plain request must succeed.
    failed = probe_failure([pair.base])
    if failed is not None:
        return Judgement(
            Verdict.INCONCLUSIVE, f"the same request naming the configured model is not answered: {failed.detail}"
        )
    probe = pair.probe
    fixed = unusable(probe)
    if fixed is not None:
        return fixed
    control = "the same request naming the configured model is answered 200"
    if probe.ok:
        body = probe.json if isinstance(probe.json, dict) else {}
        served = body.get("model")
        said = f", and the body says it is {served!r}" if served is not None else ""
        return Judgement(
            Verdict.LENIENT,
            f"any model name is served: {unknown!r} was answered HTTP {probe.status}{said}; a misspelt model "
            "name runs against whatever model is loaded, silently",
            control,
        )
    status = probe.status
    if status == OPENAI_STATUS:
        return Judgement(Verdict.REJECTED, f"HTTP 404 for the unknown model {unknown!r}, as OpenAI answers", control)
    if status in frozenset(statuses) | VALIDATION_STATUSES:
        return Judgement(
            Verdict.REJECTED,
            f"HTTP {status} for the unknown model {unknown!r}: refused, but a difference from OpenAI's 404 "
            f"(model_not_found): a client that tells a missing model by its 404 misses it here "
            f"({probe.excerpt(120)})",
            control,
        )
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"HTTP {status} for the unknown model {unknown!r} is neither 404 nor a validation refusal: "
        f"{probe.excerpt(120)}",
    )
