"""`harness export litellm`, read by LiteLLM itself (1.106.12, the environment the local
build installs for the gateway): its pydantic `Deployment` takes each entry, its `Router`
routes to it, and the request that reaches the provider has what the entry allows and lacks
what it drops; the same entry without those fields behaves otherwise (the control). And the
harness's table of what LiteLLM checks per provider prefix is LiteLLM's own."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.local.build import LITELLM_ENV
from harness.reporting.litellm_params import CHECKED, LITELLM_VERSION, UNSUPPORTED
from tests.conftest import ROOT
from tests.synthetic import Behaviour, SyntheticProvider, served
from tests.unit.test_exports import synthetic_run  # noqa: F401  (the fixture: a run of `good` and `bad`)
from tests.unit.test_routes import ROUTER, UPSTREAMS

# LiteLLM's own controls, which it never checks against a provider's list.
CONTROLS = {
    "additional_drop_params",
    "allowed_openai_params",
    "api_version",
    "custom_llm_provider",
    "drop_params",
    "messages",
    "model",
    "max_retries",
    "extra_headers",
    "metadata",  # LiteLLM's own request metadata: never forwarded, allowed or not
}
TABLE = """
import json, sys
import litellm
from litellm.constants import DEFAULT_CHAT_COMPLETION_PARAM_VALUES
controls, prefixes = set(json.loads(sys.argv[1])), json.loads(sys.argv[2])
checked = set(DEFAULT_CHAT_COMPLETION_PARAM_VALUES) - controls
unsupported = {
    p: sorted(checked - set(litellm.get_supported_openai_params(model="m", custom_llm_provider=p)))
    for p in prefixes
}
print(json.dumps({"checked": sorted(checked), "unsupported": unsupported}))
"""
ROUTE = """
import json, sys
import yaml
from litellm import Router
from litellm.types.router import Deployment
config = yaml.safe_load(open(sys.argv[1]))
for entry in config["model_list"]:
    entry["litellm_params"]["api_base"] = sys.argv[2]
    Deployment(**entry)
router = Router(model_list=config["model_list"])
outcome = []
for name, extra in json.loads(sys.argv[3]):
    try:
        router.completion(model=name, messages=[{"role": "user", "content": "Hi"}], max_tokens=4, **extra)
        outcome.append("ok")
    except Exception as err:
        outcome.append(type(err).__name__ + ": " + str(err)[:300])
print(json.dumps(outcome))
"""


def _litellm(code: str, *args: str) -> Any:
    if not LITELLM_ENV.installed():
        if os.environ.get("CI"):
            pytest.fail(f"{LITELLM_ENV.name} is not installed: `nox -s tests` installs it")
        pytest.skip(f"{LITELLM_ENV.name} not installed; run: python -m harness.local.build")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # its price list, else fetched from the web
        "LITELLM_MODE": "PRODUCTION",  # reads no .env file
        "SYNTH_EXPORT_KEY": "not-a-key",
        "OPENAI_API_KEY": "not-a-key",
    }
    done = subprocess.run(
        [str(LITELLM_ENV.python), "-c", code, *args], check=False, capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_table_is_litellms_own() -> None:
    assert LITELLM_ENV.name == f"litellm-{LITELLM_VERSION}"
    table = _litellm(TABLE, json.dumps(sorted(CONTROLS)), json.dumps(sorted(UNSUPPORTED)))
    assert table["checked"] == sorted(CHECKED)
    assert table["unsupported"] == {prefix: sorted(names) for prefix, names in UNSUPPORTED.items()}


def test_litellm_takes_the_export_and_drops_and_allows_as_it_says(
    synthetic_run: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["export", "litellm", str(synthetic_run)]) == 0
    config = yaml.safe_load(capsys.readouterr().out)
    entries = {e["model_name"]: e for e in config["model_list"]}
    # The control: `bad` again, without the two fields.
    bare = json.loads(json.dumps(entries["bad"]))
    bare["model_name"] = "bad-bare"
    del bare["litellm_params"]["allowed_openai_params"], bare["litellm_params"]["additional_drop_params"]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"model_list": [entries["good"], entries["bad"], bare]}))
    sent = {"presence_penalty": 1.5, "frequency_penalty": 0.5, "temperature": 1.5, "user": "u1", "top_k": 3}
    calls = [
        ("good", {**sent, "verbosity": "low"}),
        ("bad", {**sent, "verbosity": "low"}),
        ("bad-bare", {**sent, "verbosity": "low"}),
        ("bad-bare", sent),
    ]
    with served(SyntheticProvider()) as provider:
        outcome = _litellm(ROUTE, str(path), provider.base_url, json.dumps(calls))
    assert outcome[:2] == ["ok", "ok"] and outcome[3] == "ok"
    # Without allowed_openai_params, LiteLLM refuses `verbosity` for its openai prefix ...
    assert outcome[2].startswith("UnsupportedParamsError") and "verbosity" in outcome[2]
    good, bad, bare = provider.bodies
    assert {k: good[k] for k in sent} == sent and good["verbosity"] == "low"
    # ... and leaves `user` out; without additional_drop_params it forwards what `bad` ignores.
    assert "user" not in bare and (bare["presence_penalty"], bare["frequency_penalty"]) == (1.5, 0.5)
    assert "presence_penalty" not in bad and "frequency_penalty" not in bad
    assert (bad["user"], bad["verbosity"], bad["top_k"], bad["temperature"]) == ("u1", "low", 3, 1.5)
    assert good["model"] == bad["model"] == "m"


def test_litellm_sends_a_route_columns_requests_pinned_to_its_upstream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A route column's entry carries the pin in ``extra_body``: LiteLLM's Router sends it in
    every request, so the requests reach the upstream the evidence came from; the same entry
    without it sends none (the control)."""
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    out = tmp_path / "out"
    with served(SyntheticProvider(Behaviour(upstreams=UPSTREAMS))) as router:
        (tmp_path / "providers.toml").write_text(ROUTER.format(url=router.base_url))
        argv = ["run", "--provider", "router", "--mode", "live", "--params", "temperature", "--checks", "range"]
        assert main([*argv, "--gate", "none", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["export", "litellm", str(out), "--column", "router+together"]) == 0
    (entry,) = yaml.safe_load(capsys.readouterr().out)["model_list"]
    bare = json.loads(json.dumps(entry))
    bare["model_name"] = "bare"
    del bare["litellm_params"]["extra_body"]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"model_list": [entry, bare]}))
    with served(SyntheticProvider()) as provider:
        outcome = _litellm(ROUTE, str(path), provider.base_url, json.dumps([("router+together", {}), ("bare", {})]))
    assert outcome == ["ok", "ok"]
    pinned, unpinned = provider.bodies
    assert pinned["provider"] == {"order": ["together"], "allow_fallbacks": False}
    assert "provider" not in unpinned
