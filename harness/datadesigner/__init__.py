"""NeMo Data Designer model configs: will this config work on that provider? Reads the configs
as Data Designer serialises them, checks every value they can send against the provider's
documented surface (static), and runs exactly those values live (range, passthrough by
effect, determinism, embeddings)."""
