"""Judges of effects read on greedy outputs and stream framing: ``stream_options``, forms the
documentation calls equivalent, and ``logit_bias``. No sampling, no seed: greedy decoding that
reproduces (the provider's profile) is the ground they stand on, and each has a control that
could have refuted it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.checks.judges.effects import choice
from harness.checks.judges.outcome import Judgement, quote, text_of
from harness.checks.judges.shapes import Contrast, guarded
from harness.results import Verdict
from harness.transport import Exchange


def usage_chunk(exchange: Exchange) -> dict[str, Any] | None:
    """The usage object a stream carries in a chunk, if any."""
    for chunk in reversed(exchange.chunks):
        usage = chunk.get("usage") if isinstance(chunk, dict) else None
        if isinstance(usage, dict):
            return usage
    return None


@guarded
def judge_stream_usage(contrast: Contrast) -> Judgement:
    """``stream_options: {"include_usage": true}`` (``contrast.probe``) must add a chunk with
    usage; the same stream without the option is the control (a server that always sends usage
    proves nothing)."""
    with_option, without = contrast.probe, contrast.control
    if not with_option.chunks:
        return Judgement(Verdict.INCONCLUSIVE, "the request was not answered as a stream: no chunks to look in")
    usage, control = usage_chunk(with_option), usage_chunk(without)
    if usage is None:
        return Judgement(
            Verdict.IGNORED,
            f"stream_options.include_usage=true: none of the {len(with_option.chunks)} chunks carries usage",
        )
    if control is not None:
        return Judgement(
            Verdict.INCONCLUSIVE,
            "a chunk carries usage, but so does the same stream without stream_options: its presence is not the "
            "option's doing",
        )
    tokens = usage.get("completion_tokens")
    if not isinstance(tokens, int) or isinstance(tokens, bool):
        return Judgement(Verdict.SERVER_ERROR, f"the usage chunk has no integer completion_tokens: {usage!r}")
    return Judgement(
        Verdict.HONOURED,
        f"stream_options.include_usage=true added a usage chunk ({tokens} completion tokens)",
        "the same stream without stream_options carries no usage",
    )


@dataclass(frozen=True, kw_only=True)
class Twins:
    """Two forms the documentation calls equivalent, and a control that must differ from the
    first (so the comparison could have seen a difference)."""

    name: str  # what is compared, e.g. "content as text parts"
    first: Exchange
    second: Exchange
    control: Exchange
    control_name: str  # e.g. "another user message"

    def exchanges(self) -> list[Exchange]:
        return [self.first, self.second, self.control]


@guarded
def judge_equivalent(twins: Twins, greedy_reproduces: bool) -> Judgement:
    a, b, control = text_of(twins.first), text_of(twins.second), text_of(twins.control)
    if a is None or b is None or control is None:
        return Judgement(Verdict.INCONCLUSIVE, "no generated text to compare (a response without content)")
    if not greedy_reproduces:
        return Judgement(Verdict.INCONCLUSIVE, "greedy decoding does not reproduce here: two outputs prove nothing")
    if control == a:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"{twins.control_name} gives the same greedy output {quote(a)}: this comparison could not see a difference",
        )
    if a == b:
        return Judgement(
            Verdict.HONOURED,
            f"{twins.name}: both forms give the same greedy output {quote(a)}",
            f"{twins.control_name} changes it ({quote(control)}), so a difference would have shown",
        )
    return Judgement(
        Verdict.IGNORED,
        f"{twins.name}: the forms documented as equivalent give different greedy outputs: {quote(a)} and {quote(b)}",
        "greedy decoding reproduces, so the difference is the form's",
    )


@dataclass(frozen=True)
class Token:
    id: int
    text: str


def first_tokens(exchange: Exchange) -> list[Token]:
    """The chosen first token and its alternatives, where the provider gives token ids: as an
    ``id`` field (llama.cpp), or as ``token_id:N`` strings (vLLM's ``return_tokens_as_token_ids``)."""
    logprobs = choice(exchange).get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or not content or not isinstance(content[0], dict):
        return []
    first = content[0]
    entries = [first, *(t for t in first.get("top_logprobs") or [] if isinstance(t, dict))]
    found: list[Token] = []
    for entry in entries:
        token = _token(entry)
        if token is not None and token.id not in {t.id for t in found}:
            found.append(token)
    return found


def _token(entry: dict[str, Any]) -> Token | None:
    text = entry.get("token")
    if isinstance(entry.get("id"), int) and not isinstance(entry.get("id"), bool):
        return Token(entry["id"], str(text))
    if isinstance(text, str) and text.startswith("token_id:") and text[9:].isdigit():
        return Token(int(text[9:]), text)
    return None


def spelled(exchange: Exchange) -> bool:
    """Do the logprob tokens spell the text (the last one may be the end-of-sequence token of a
    stop)? Token ids of another text prove nothing about this one."""
    logprobs = choice(exchange).get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    tokens = [t.get("token") if isinstance(t, dict) else None for t in content or []]
    text = text_of(exchange)
    if not tokens or text is None or not all(isinstance(t, str) for t in tokens):
        return False
    joined = "".join(str(t) for t in tokens)
    stopped = choice(exchange).get("finish_reason") == "stop" and "".join(str(t) for t in tokens[:-1]) == text
    return joined == text or stopped


@dataclass(frozen=True, kw_only=True)
class BiasProbe:
    """Greedy decoding (``greedy``), the same with -100 on its first token ``first`` (``banned``)
    and with +100 on an alternative ``other`` (``promoted``). ``spelling``: where the ids came
    as ``token_id:N`` strings, the same three requests with the tokens as text, in that order."""

    greedy: Exchange
    banned: Exchange
    promoted: Exchange
    first: Token  # greedy decoding's first token: the one banned
    other: Token  # an alternative to it: the one promoted
    spelling: tuple[Exchange, ...] = ()

    def exchanges(self) -> list[Exchange]:
        # Without spelling twins the three themselves spell: the guard has read them already.
        return [self.greedy, self.banned, self.promoted, *self.spelling]


@guarded
def judge_logit_bias(probe: BiasProbe) -> Judgement:
    """A bias of -100 on the first token must move greedy decoding off it, +100 on the
    alternative must make it the first token. The spelling twins (else the three exchanges
    themselves) must spell the same texts as the token ids."""
    greedy, banned, promoted = probe.greedy, probe.banned, probe.promoted
    spelling = probe.spelling or (greedy, banned, promoted)
    ids_and_text = zip([greedy, banned, promoted], spelling, strict=True)
    if not all(spelled(words) and text_of(words) == text_of(ids) for ids, words in ids_and_text):
        return Judgement(
            Verdict.INCONCLUSIVE,
            "the logprob tokens do not spell the generated text: token ids of another text prove nothing about it",
        )
    first, other = probe.first, probe.other
    base, without, with_other = first_tokens(greedy), first_tokens(banned), first_tokens(promoted)
    if not base or not without or not with_other:
        return Judgement(Verdict.INCONCLUSIVE, "a biased answer carries no token ids to compare first tokens")
    # The move must show in the text too, not only in the token ids the provider reports.
    changed = text_of(banned) != text_of(greedy) and text_of(promoted) != text_of(greedy)
    moved_off = without[0].id != first.id
    moved_to = with_other[0].id == other.id
    if moved_off and moved_to and changed:
        return Judgement(
            Verdict.HONOURED,
            f"logit_bias -100 on {first.text!r} (id {first.id}) moved greedy decoding off it "
            f"(now {without[0].text!r}); +100 on {other.text!r} (id {other.id}) made it the first token",
            "greedy decoding without logit_bias starts with the banned token, not the promoted one",
        )
    if not moved_off and not moved_to and text_of(banned) == text_of(greedy) == text_of(promoted):
        return Judgement(
            Verdict.IGNORED,
            f"logit_bias -100 on greedy decoding's first token {first.text!r} and +100 on {other.text!r} left the "
            f"greedy output unchanged: {quote(text_of(greedy))}",
            "a -100 bias on the chosen token must move an honest sampler off it",
        )
    if moved_off and moved_to:
        return Judgement(
            Verdict.INCONCLUSIVE,
            "the token ids moved as biased, but the text did not change: the logprobs and the text disagree",
        )
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"logit_bias moved greedy decoding {'off' if moved_off else 'not off'} the banned token and "
        f"{'to' if moved_to else 'not to'} the promoted one: only part of the documented effect",
    )
