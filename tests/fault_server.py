"""A fault-injecting local HTTP server (test code only): it produces on demand the faults a
real server will not (429 with Retry-After, 500, 503, a hang, a connection reset, malformed
JSON, a truncated SSE stream, an oversized body, a wrong content type).

The fault is the first path segment: ``http://127.0.0.1:PORT/<fault>/v1/chat/completions``.
``ok`` answers a valid completion; ``slow`` answers it after 50 ms (and counts how many it holds
at once: ``peak_in_flight``); ``flaky`` answers 500 to
bodies that contain ``temperature`` and a valid completion to the rest; ``dead`` lists its
models (so a preflight passes) and resets every other request; ``302`` redirects to itself;
``non-utf8`` answers a completion with a byte that is not UTF-8; ``not-found-for-tools``
answers 404 to a request with ``tools``, as OpenRouter does when no upstream supports them;
``echo`` answers with everything it received (request line, headers, body) in the content, in
a response header, and, for a request with ``n``, in a 400's error message; ``trickle`` sends
a valid completion a few bytes at a time, 0.2 s apart (each read is quick, the whole is slow);
``gzip-bomb`` answers ``GZIP_BOMB_BYTES`` of JSON compressed to a few hundred kilobytes.
Raw asyncio streams, so a reset and a truncation are real socket events.
"""

from __future__ import annotations

import asyncio
import functools
import json
import socket
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

OVERSIZED_BYTES = 3 * 1024 * 1024
GZIP_BOMB_BYTES = 256 * 1024 * 1024


@functools.cache
def gzip_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1024 * 1024)
    parts = [compressor.compress(b'{"pad": "')]
    parts += [compressor.compress(block) for _ in range(GZIP_BOMB_BYTES // len(block))]
    return b"".join([*parts, compressor.compress(b'"}'), compressor.flush()])


def completion(content: str = "hello there") -> dict[str, Any]:
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": 1,
        "model": "fault",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def _response(status: str, body: bytes, content_type: str = "application/json", extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


class FaultServer:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.in_flight = self.peak_in_flight = 0  # of ``slow`` requests
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    async def shutdown(self) -> None:
        """End the handlers still running (a hang) before the loop stops."""
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.loop.call_soon(self.loop.stop)

    def url(self, fault: str) -> str:
        return f"http://127.0.0.1:{self.port}/{fault}/v1"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()
        server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                method, path = request_line.decode().split()[:2]
                fault = path.strip("/").split("/")[0]
                self.hits[fault] += 1
                if fault == "dead" and method == "GET":
                    writer.write(_response("200 OK", b'{"object": "list", "data": []}'))
                    await writer.drain()
                    continue
                if fault == "echo":
                    self._echo(request_line, headers, body, writer)
                    await writer.drain()
                    continue
                if not await self._answer(fault, json.loads(body or b"{}"), writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    @staticmethod
    def _echo(request_line: bytes, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter) -> None:
        head = " ".join([request_line.decode().strip(), *(f"{k}: {v}" for k, v in headers.items())])
        text = f"{head}\n{body.decode('utf-8', errors='replace')}"
        extra = f"x-echo: {head}\r\n"
        if b'"n":' in body:
            error = {"error": {"message": f"bad request: {text}", "type": "invalid_request_error"}}
            writer.write(_response("400 Bad Request", json.dumps(error).encode(), extra=extra))
        else:
            writer.write(_response("200 OK", json.dumps(completion(text)).encode(), extra=extra))

    async def _answer(self, fault: str, body: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        """Write the response for ``fault``; False when the connection must end now."""
        ok = json.dumps(completion()).encode()
        answers = (fault == "flaky" and "temperature" not in body) or (
            fault == "not-found-for-tools" and "tools" not in body
        )
        if fault == "ok" or answers:
            writer.write(_response("200 OK", ok))
        elif fault == "slow":
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            await asyncio.sleep(0.05)
            self.in_flight -= 1
            writer.write(_response("200 OK", ok))
        elif fault == "flaky":
            writer.write(_response("500 Internal Server Error", b'{"error":{"message":"boom","type":"server"}}'))
        elif fault == "rate-limited-once" and self.hits[fault] > 1:
            writer.write(_response("200 OK", ok))
        elif fault in ("rate-limited", "rate-limited-once"):
            writer.write(
                _response("429 Too Many Requests", b'{"error":{"message":"slow down"}}', extra="retry-after: 1\r\n")
            )
        elif fault in ("500", "503"):
            status = {"500": "500 Internal Server Error", "503": "503 Service Unavailable"}[fault]
            writer.write(_response(status, b'{"error":{"message":"unavailable","type":"server_error"}}'))
        elif fault == "hang":
            await asyncio.sleep(30)
            return False
        elif fault == "302":
            writer.write(_response("302 Found", b"", extra="location: /302/v1/chat/completions\r\n"))
        elif fault in ("reset", "dead"):
            sock = writer.get_extra_info("socket")
            # SO_LINGER 0: close() sends RST, a real connection reset.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        elif fault == "malformed-json":
            writer.write(_response("200 OK", b'{"id": "x", "choices": [{"message": '))
        elif fault == "truncated-sse":
            chunk = {
                "id": "c",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "fault",
                "choices": [{"index": 0, "delta": {"content": "hel"}, "finish_reason": None}],
            }
            data = f'data: {json.dumps(chunk)}\n\ndata: {{"id": "c", "choi'.encode()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n" + data)
            await writer.drain()
            return False
        elif fault == "trickle":
            payload = json.dumps(completion()).encode()
            head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n"
            writer.write(head.encode())
            for start in range(0, len(payload), 16):
                writer.write(payload[start : start + 16])
                await writer.drain()
                await asyncio.sleep(0.2)
        elif fault == "gzip-bomb":
            writer.write(_response("200 OK", gzip_bomb(), extra="content-encoding: gzip\r\n"))
        elif fault == "oversized":
            writer.write(_response("200 OK", b'{"pad": "' + b"x" * OVERSIZED_BYTES + b'"}'))
        elif fault == "not-found-for-tools":
            writer.write(
                _response("404 Not Found", b'{"error":{"message":"No endpoints found that support tool use"}}')
            )
        elif fault == "non-utf8":
            writer.write(_response("200 OK", json.dumps(completion("caf\u00e9")).encode().replace(b"\\u00e9", b"\xff")))
        elif fault == "wrong-content-type":
            writer.write(_response("200 OK", b"<html><body>gateway says hi</body></html>", "text/html"))
        else:
            writer.write(_response("404 Not Found", b'{"error":{"message":"unknown fault"}}'))
        await writer.drain()
        return True


@contextmanager
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer()
    server._thread.start()
    server._ready.wait(5)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.shutdown(), server.loop).result(5)
        server._thread.join(5)
