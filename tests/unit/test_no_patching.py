"""The harness extends httpx and vcrpy through their public surfaces only: no assignment to a
private attribute (httpx's ``_pool`` or ``_cookies``, a vcrpy cassette's internals), no method
replaced on an object, no class of theirs patched, no private module of theirs imported, no
vcrpy process patching (``use_cassette``). Read from the source, so a new patch anywhere in
``harness/`` fails here."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

THIRD_PARTY = ("httpx", "httpcore", "vcr")
PATCHING_CALLS = {"use_cassette", "VCR"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def patches(source: str) -> list[str]:
    """Every place in ``source`` that patches httpx, httpcore or vcrpy (or could)."""
    tree = ast.parse(source)
    modules = {"httpx", "httpcore", "vcr"}  # names bound to their modules or to their objects
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in THIRD_PARTY:
                    modules.add(alias.asname or top)
                    if any(_private(part) for part in alias.name.split(".")):
                        found.append(f"line {node.lineno}: imports private module {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in THIRD_PARTY:
            if any(_private(part) for part in node.module.split(".")):
                found.append(f"line {node.lineno}: imports from private module {node.module}")
            for alias in node.names:
                modules.add(alias.asname or alias.name)
                if _private(alias.name):
                    found.append(f"line {node.lineno}: imports private name {alias.name} from {node.module}")
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in ("setattr", "delattr") and len(node.args) >= 2:
                attr = node.args[1]
                owner = ast.unparse(node.args[0])
                if not isinstance(attr, ast.Constant) or _private(str(attr.value)) or owner not in ("self", "cls"):
                    found.append(f"line {node.lineno}: {ast.unparse(node)}")
            elif name in PATCHING_CALLS:
                found.append(f"line {node.lineno}: vcrpy patches the process: {ast.unparse(node)}")
            continue
        value, line = getattr(node, "value", None), getattr(node, "lineno", 0)
        for target in targets:
            for sub in ast.walk(target):
                if not isinstance(sub, ast.Attribute):
                    continue
                owner = ast.unparse(sub.value)
                if _private(sub.attr) and owner not in ("self", "cls"):
                    found.append(f"line {line}: assigns private attribute {ast.unparse(sub)}")
                elif _root_name(sub.value) in modules:
                    found.append(f"line {line}: assigns to {ast.unparse(sub)} of a third-party name")
                elif isinstance(value, ast.Lambda) and owner not in ("self", "cls"):
                    found.append(f"line {line}: replaces a method: {ast.unparse(sub)}")
    return found


@pytest.mark.parametrize(
    "source",
    [
        "transport._pool = LimitedPool(transport._pool, cap)",  # what limits did
        "self._http._cookies = _NoCookies()",  # what the client did
        "loaded._responses = responses",  # what replay did to vcrpy's cassette
        "loaded.can_play_response_for = lambda request: False",  # what recording did
        "setattr(client, '_cookies', jar)",
        "import httpx\nhttpx.AsyncHTTPTransport.handle_async_request = handle",
        "from httpx import AsyncHTTPTransport as T\nT.handle_async_request = handle",
        "import httpx._types",
        "from httpx._models import Cookies",
        "from vcr.stubs.httpx_stubs import _serialize_response",
        "import vcr\nrecorder = vcr.VCR()\nwith recorder.use_cassette('c.json'): pass",
    ],
)
def test_each_kind_of_patch_is_found(source: str) -> None:
    assert patches(source), source


def test_own_state_and_public_extension_points_are_not_patches() -> None:
    source = """
import httpx
class Client(httpx.AsyncClient):
    @property
    def cookies(self): return JAR
class Transport(httpx.AsyncBaseTransport):
    def __init__(self, inner):
        self._inner = inner
        self.inner: object = inner
    def __init_subclass__(cls): cls._seen = True
response = httpx.Response(200, stream=httpx.ByteStream(b""))
"""
    assert patches(source) == []


def test_the_harness_patches_nothing() -> None:
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sorted((ROOT / "harness").rglob("*.py"))
        if (hits := patches(path.read_text()))
    }
    assert found == {}
