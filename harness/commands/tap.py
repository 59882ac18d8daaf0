"""`harness tap`: the recording tap of the ``gateway`` check, run by hand in front of a team's
own upstream (point the gateway at the address it prints). Every request the gateway forwards
is one JSON line in ``--out``, credentials scrubbed (``transport.tap``)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

from harness.errors import ConfigError
from harness.transport.tap import TapServer


def _upstream(text: str) -> str:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as err:
        raise ConfigError(f"--upstream {text!r}: not a URL ({err})") from err
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"--upstream {text!r}: expected an http(s) URL, e.g. http://127.0.0.1:8080/v1")
    return str(url)


def open_tap(upstream: str, port: int, out: Path) -> TapServer:
    """The tap, bound (not yet serving); one line for every way the arguments can be wrong."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}: not a port (0 to 65535; 0 picks a free one)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.open("ab").close()
    except OSError as err:
        raise ConfigError(f"--out {out}: cannot write: {err.strerror}") from err
    try:
        return TapServer(_upstream(upstream), port, out)
    except OSError as err:
        raise ConfigError(f"--port {port}: cannot listen on 127.0.0.1:{port}: {err.strerror}") from err


def cmd_tap(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    tap = open_tap(args.upstream, args.port, args.out)
    with tap:
        sys.stdout.write(
            f"harness tap: point the gateway at {tap.base_url} (forwarding to {tap.upstream}); "
            f"each forwarded request is a line in {args.out}; Ctrl-C stops\n"
        )
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it ends
            (stop or threading.Event()).wait()
    sys.stdout.write(f"harness tap: {len(tap.entries)} requests forwarded\n")
    return 0


def add_commands(sub: Any) -> None:
    tap = sub.add_parser(
        "tap", help="run the recording tap in front of an upstream: what a gateway forwards, one JSON line each"
    )
    tap.add_argument("--upstream", required=True, help="the upstream's root URL, e.g. http://127.0.0.1:8080/v1")
    tap.add_argument("--port", type=int, default=0, help="the port to listen on (127.0.0.1; default: a free one)")
    tap.add_argument("--out", type=Path, required=True, help="the JSON-lines file of forwarded requests (appended)")
    tap.set_defaults(func=cmd_tap)
