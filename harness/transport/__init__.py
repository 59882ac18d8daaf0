"""Transport: requests to one provider over httpx (live), through vcrpy cassettes (record,
replay), with bounded concurrency, retries, SSE parsing and secret scrubbing. Knows nothing of
schemas, checks or reports."""

from harness.transport.client import ClientSettings, ProviderClient
from harness.transport.exchange import Exchange, Outcome

__all__ = ["ClientSettings", "Exchange", "Outcome", "ProviderClient"]
