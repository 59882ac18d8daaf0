"""Judge of template parameters (``reasoning_effort``, ``chat_template_kwargs`` and its
``enable_thinking``, ``thinking``): they act by changing the prompt the chat template renders,
so the request with one must count other prompt tokens than the same request without it. An
unchanged count is IGNORED only where the served template is known to read the parameter
(``template_reads`` in providers.toml): elsewhere the template may simply not use it."""

from __future__ import annotations

from collections.abc import Collection

from harness.checks.judges.outcome import Judgement
from harness.checks.judges.overflow import prompt_tokens
from harness.checks.judges.shapes import Contrast, guarded
from harness.results import Verdict


@guarded
def judge_template_param(contrast: Contrast, param: str, template_reads: Collection[str]) -> Judgement:
    """``contrast.probe``: the request with ``param``; ``contrast.control``: without it."""
    with_it, without = prompt_tokens(contrast.probe), prompt_tokens(contrast.control)
    if with_it is None or without is None:
        return Judgement(
            Verdict.INCONCLUSIVE, "no usage.prompt_tokens to compare: cannot see what reached the template"
        )
    control = "the same request without it"
    if with_it != without:
        return Judgement(
            Verdict.HONOURED, f"{param} reaches the chat template: {without} -> {with_it} prompt tokens", control
        )
    if param in template_reads:
        return Judgement(
            Verdict.IGNORED,
            f"{param} dropped: the served template reads it, yet the prompt is the same {with_it} tokens with or "
            "without it",
            control,
        )
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"the same {with_it} prompt tokens with or without {param}: either the server drops it or the served "
        "template does not read it (template_reads in providers.toml says which parameters it reads)",
        control,
    )
