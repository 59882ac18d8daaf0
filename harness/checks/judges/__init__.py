"""Pure judges: from exchanges (and the surface) to a verdict with its reason.

A judge sends nothing and reads no clock: the probe plans in ``harness.checks.<family>``
decide what to send, the engine sends it, and a judge decides what it proves. So every judge
can be tested on exchanges built by hand, for providers that behave and providers that lie.

The rule every judge follows: a verdict is only as good as the control that could have
refuted it. HONOURED needs an observed effect *and* a control showing the effect is the
parameter's; a judge that has no such control says INCONCLUSIVE and why.
"""

from harness.checks.judges.outcome import Judgement, probe_failure, text_of, unusable

__all__ = ["Judgement", "probe_failure", "text_of", "unusable"]
