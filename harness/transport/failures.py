"""How a request can fail to get a usable response, as data: ``TransportFailure``, filled from
one table of exception classes (``FAILURES``). The retry logic reads the kind; the error text
(evidence in records, prose for people) is written from the same row."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import httpx


class TransportFailure(StrEnum):
    """Why an exchange has no usable HTTP response (``Outcome.TRANSPORT_ERROR``)."""

    TIMEOUT = "timeout"  # no complete response within the request's deadline
    CONNECT = "connect"  # refused, unreachable, name not resolved
    RESET = "reset"  # the connection closed mid-request or mid-response
    HTTP = "http"  # any other error httpx raises (a body that does not decode, a redirect loop, ...)
    OVERSIZED = "oversized"  # the body went past the cap (not an exception: the client stops reading)


# Transient by nature: retried up to ``ClientSettings.retries`` times.
TRANSIENT_FAILURES = frozenset({TransportFailure.TIMEOUT, TransportFailure.CONNECT, TransportFailure.RESET})

# The error text of an exception, given the request's deadline in seconds.
Describe = Callable[[BaseException, float], str]

# (exception classes, kind, the error text): the first row whose classes match wins, so a
# subclass comes before its base (httpx.ConnectTimeout is a timeout, not a connect error).
FAILURES: tuple[tuple[tuple[type[BaseException], ...], TransportFailure, Describe], ...] = (
    (
        (httpx.TimeoutException, TimeoutError),
        TransportFailure.TIMEOUT,
        lambda err, timeout: f"timeout: no complete response within {timeout:g}s",
    ),
    (
        (httpx.ConnectError,),
        TransportFailure.CONNECT,
        lambda err, timeout: f"connect: {err}",
    ),
    (
        (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError),
        TransportFailure.RESET,
        lambda err, timeout: f"reset: connection closed mid-response ({type(err).__name__}: {err})",
    ),
    (
        (httpx.HTTPError,),
        TransportFailure.HTTP,
        lambda err, timeout: f"http: {type(err).__name__}: {err}",
    ),
)

# Every exception the table knows: what the client catches (anything else is the harness's bug).
HANDLED: tuple[type[BaseException], ...] = tuple(cls for classes, _, _ in FAILURES for cls in classes)


def classify(err: BaseException, timeout: float) -> tuple[TransportFailure, str]:
    """The kind of ``err`` and its error text, from ``FAILURES``."""
    for classes, kind, describe in FAILURES:
        if isinstance(err, classes):
            return kind, describe(err, timeout)
    raise TypeError(f"not a transport failure: {type(err).__name__}") from err


def oversized(cap: int) -> str:
    """The error text of ``TransportFailure.OVERSIZED``."""
    return f"oversized body: more than {cap} bytes, not read further"
