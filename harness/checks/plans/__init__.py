"""Probe plans: what to send to prove a parameter works. ``common`` holds what every plan
shares (the probe request, the effect table, the provider's measured profile); ``seeded`` and
``seedfree`` are the two proofs; ``proofs`` chooses one per run, the one place that choice is
made. Plans only send; ``harness.checks.judges`` decides what the answers prove."""
