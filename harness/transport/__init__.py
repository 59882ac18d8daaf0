"""Transport: requests to one provider over httpx (live), or over a cassette in vcrpy's format
(record, replay: httpx transports, nothing patched), with bounded concurrency, retries, the
body cap, SSE parsing and secret scrubbing. Knows nothing of schemas, checks or reports."""

from harness.transport.client import ClientSettings, ProviderClient
from harness.transport.exchange import Exchange, Outcome
from harness.transport.failures import TransportFailure

__all__ = ["ClientSettings", "Exchange", "Outcome", "ProviderClient", "TransportFailure"]
