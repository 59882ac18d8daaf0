"""`harness init`: what a team adds to its own repository to run the gate there, a commented
``providers.toml`` (every hosted provider of the catalogue, NOT_RUN until its key is set) and
a CI workflow: a matrix of jobs, each running a shard of the columns, and a merge job that
makes one report of them and applies the gate. Nothing is overwritten."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness import DISTRIBUTION, __version__
from harness.errors import ConfigError
from harness.schema import load_catalogue

# Hosted providers whose documented surface is in the catalogue: (entry, surface, base URL,
# a model, the key's variable). A surface without a public endpoint (vllm, llamacpp, sglang,
# tgi, ollama, the seed's oruel) is a server you run: add it by hand.
HOSTED = [
    ("openai", "openai", "https://api.openai.com/v1", "gpt-4.1", "OPENAI_API_KEY"),
    (
        "openrouter",
        "openrouter",
        "https://openrouter.ai/api/v1",
        "meta-llama/llama-3.1-8b-instruct",
        "OPENROUTER_API_KEY",
    ),
    (
        "nvidia-nim",
        "nvidia-nim",
        "https://integrate.api.nvidia.com/v1",
        "nvidia/nemotron-3.5-lightning-30b-a3b",
        "NVIDIA_API_KEY",
    ),
    (
        "together",
        "together",
        "https://api.together.xyz/v1",
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "TOGETHER_API_KEY",
    ),
    ("groq", "groq", "https://api.groq.com/openai/v1", "llama-3.1-8b-instant", "GROQ_API_KEY"),
    (
        "fireworks",
        "fireworks",
        "https://api.fireworks.ai/inference/v1",
        "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "FIREWORKS_API_KEY",
    ),
    (
        "deepinfra",
        "deepinfra",
        "https://api.deepinfra.com/v1/openai",
        "meta-llama/Meta-Llama-3.1-8B-Instruct",
        "DEEPINFRA_API_KEY",
    ),
    ("mistral", "mistral", "https://api.mistral.ai/v1", "mistral-small-latest", "MISTRAL_API_KEY"),
]

PROVIDERS_HEADER = """\
# Providers the harness tests (harness init wrote this; edit freely).
# Each entry runs once its key's variable is set; until then it is NOT_RUN.
#
#   base_url               the OpenAI-compatible root (".../v1")
#   model                  the model name sent in every request
#   api_key_env            the environment variable holding the key ("" = no key needed)
#   schema                 the documented surface it is held to (`harness schemas` lists them;
#                          a schemas/<name>.json of your own adds or replaces one)
#   max_parallel_requests  requests in flight at once, never more
#   timeout                seconds for one request
#   headers                extra HTTP headers (values may use ${ENV_VAR})
#   also_held_to           other surfaces to hold it to as well, each a column of the report
#                          ("provider@surface"): e.g. ["openai"] for code written against OpenAI
#   upstream               for a gateway: the provider it forwards to (the `gateway` check sends
#                          the same probe through it and directly there)
"""

# The CI matrix: this many jobs each run a share of the columns (`--shard K/N`).
SHARDS = 3

WORKFLOW = """\
# The provider-compatibility gate (harness init wrote this). It sends real requests to every
# provider in providers.toml whose key is set, split over {shards} jobs (`--shard K/{shards}`: each
# a share of the columns, the same in every job), then merges their run folders into one
# report and one gate, which fails on a non-conformance.
name: provider-compat
on:
  workflow_dispatch:
  schedule:
    - cron: "0 5 * * 1"
jobs:
  shard:
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        shard: [{matrix}]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install {distribution}=={version}
      # The merge job's gate decides: a shard's job fails only on a tool error (exit 2).
      - name: conformance, shard ${{{{ matrix.shard }}}} of {shards}
        run: >-
          harness conformance --live --shard ${{{{ matrix.shard }}}}/{shards} --gate none --out reports/shard
          || test $? -eq 1
        env:
{secrets}
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: provider-compat-shard-${{{{ matrix.shard }}}}
          path: reports/shard
  merge:
    needs: shard
    if: always()
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install {distribution}=={version}
      - uses: actions/download-artifact@v4
        with:
          pattern: provider-compat-shard-*
          path: shards
      # One run folder, every report and the gate (a missing shard is exit 2, naming it).
      - run: harness report --merge {folders} --gate strict --out reports/conformance
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: provider-compat-report
          path: reports/conformance
"""


def providers_toml() -> str:
    catalogue = load_catalogue()
    entries = [PROVIDERS_HEADER]
    for name, surface, base_url, model, key in HOSTED:
        if surface not in catalogue:
            continue
        entries.append(
            f"\n[providers.{name}]  # {catalogue[surface].title}\n"
            f'base_url = "{base_url}"\nmodel = "{model}"\napi_key_env = "{key}"\nschema = "{surface}"\n'
            "max_parallel_requests = 4\ntimeout = 60\n"
        )
    return "".join(entries)


def workflow_yaml() -> str:
    secrets = "\n".join(f"          {key}: ${{{{ secrets.{key} }}}}" for *_, key in HOSTED)
    shards = range(1, SHARDS + 1)
    return WORKFLOW.format(
        distribution=DISTRIBUTION,
        version=__version__,
        secrets=secrets,
        shards=SHARDS,
        matrix=", ".join(map(str, shards)),
        folders=" ".join(f"shards/provider-compat-shard-{index}" for index in shards),
    )


def cmd_init(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    files = {
        folder / "providers.toml": providers_toml(),
        folder / ".github/workflows/provider-compat.yml": workflow_yaml(),
    }
    existing = [str(p) for p in files if p.exists()]
    if existing:
        raise ConfigError(f"{', '.join(existing)} already exists: harness init never overwrites (move it away first)")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    print("set the keys' variables (or CI secrets), then: harness conformance --live")
    return 0


def add_init_command(sub: Any) -> None:
    parser = sub.add_parser("init", help="write a providers.toml and a CI workflow into a repository")
    parser.add_argument("folder", type=Path, nargs="?", default=Path(), help="the repository (default: here)")
    parser.set_defaults(func=cmd_init)
