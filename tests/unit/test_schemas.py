"""The schema catalogue: every seed parameter is there with the seed's range and default,
and malformed schemas fail in one line naming the file and the JSON pointer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness import paths
from harness.cli import main
from harness.errors import SchemaError
from harness.schema import Surface, load_catalogue, load_surface
from harness.schema.reference import SURFACES, surface_schema
from tests.conftest import REFERENCE, ROOT

SEEDS = REFERENCE / "seeds"


def _seed(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def _number(text: str) -> float:
    return float(text)


def test_catalogue_has_the_named_surfaces(catalogue: dict[str, Surface]) -> None:
    assert {"openrouter", "oruel", "data-designer", "openai", "vllm", "llamacpp"} <= set(catalogue)


def test_openrouter_every_seed_parameter_with_range_and_default(catalogue: dict[str, Surface]) -> None:
    text = _seed("002")
    # The seed lists each parameter as a bare name line followed by "  • Optional, <type>...".
    blocks = re.findall(
        r"^(\w+)\n\s*•\s*Optional, (\w+)(?:, ([^\n]+))?(?:\n\s*\n?\s*•\s*Default: ([^\n]+))?", text, re.M
    )
    names = [b[0] for b in blocks]
    assert len(names) == 15 and "top_a" in names and "logit_bias" in names
    surface = catalogue["openrouter"]
    for name, _kind, rng, default in blocks:
        schema = surface.parameters[name].schema
        between = re.match(r"(-?[\d.]+) to (-?[\d.]+)", rng or "")
        if between:
            assert schema["minimum"] == _number(between.group(1)), name
            assert schema["maximum"] == _number(between.group(2)), name
        above = re.match(r"(-?[\d.]+) or above", rng or "")
        if above:
            assert schema["minimum"] == _number(above.group(1)), name
            assert "maximum" not in schema, name
        if default:
            assert schema["default"] == _number(default), name
    assert surface.parameters["top_logprobs"].schema["maximum"] == 20
    assert surface.dependencies("top_logprobs") == {"logprobs": True}


def test_oruel_every_seed_parameter_with_range_and_default(catalogue: dict[str, Surface]) -> None:
    text = _seed("001")
    names = re.findall(r"^(\w+)#$", text, re.M)
    surface = catalogue["oruel"]
    assert set(names) - {"Sampling", "Length", "Penalty", "Output", "Tool", "Routing", "Inference"} <= set(
        surface.parameters
    )
    assert {"tier", "tools", "tool_choice", "stream", "stop", "repetition_penalty"} <= set(names)
    for name, low, high, default in re.findall(
        r"^(\w+)#\n\nType: (?:number|integer) \((-?[\d.]+) to (-?[\d.]+)\) \| Default: ([^\n]+)", text, re.M
    ):
        schema = surface.parameters[name].schema
        assert (schema["minimum"], schema["maximum"]) == (_number(low), _number(high)), name
        if re.match(r"-?[\d.]+$", default):
            assert schema["default"] == _number(default), name
    params = surface.parameters
    assert params["tools"].schema["maxItems"] == 128
    assert params["stop"].schema["maxItems"] == 4
    assert params["stop"].schema["items"]["maxLength"] == 256
    assert params["tier"].schema["enum"] == ["standard", "turbo"]
    assert params["tier"].placement == "extension"
    assert params["temperature"].schema["default"] == 0.7


def test_data_designer_fields_and_distributions(catalogue: dict[str, Surface]) -> None:
    text = _seed("000")
    fields = set(re.findall(r"^\| `(\w+)`", text, re.M))
    surface = catalogue["data-designer"]
    defs = surface.schema["$defs"]
    chat = defs["ChatCompletionInferenceParams"]["properties"]
    embed = defs["EmbeddingInferenceParams"]["properties"]
    image = defs["ImageInferenceParams"]["properties"]
    assert fields <= set(chat) | set(embed) | set(image)
    assert surface.parameters["temperature"].schema["maximum"] == 2.0
    assert surface.parameters["max_parallel_requests"].schema["default"] == 4
    assert surface.parameters["max_parallel_requests"].placement == "client"
    assert embed["encoding_format"]["enum"] == ["float", "base64"]
    assert {"UniformDistribution", "ManualDistribution", "ModelConfig"} <= set(defs)
    assert defs["ManualDistribution"]["properties"]["params"]["required"] == ["values"]


def test_reference_surfaces_carry_provenance_and_placement(catalogue: dict[str, Surface]) -> None:
    for surface in catalogue.values():
        for param in surface.parameters.values():
            assert param.placement in ("standard", "extension", "client")
            assert param.provenance_source
    assert catalogue["vllm"].parameters["top_p"].schema["exclusiveMinimum"] == 0.0
    assert catalogue["llamacpp"].parameters["top_k"].placement == "extension"
    assert catalogue["openai"].unknown_keys == "reject"
    assert "encoding_format" in catalogue["openai"].embeddings


def _break(schemas: Path, name: str, mutate: object) -> Path:
    path = schemas / f"{name}.json"
    data = json.loads(path.read_text())
    assert callable(mutate)
    mutate(data)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("mutation", "pointer", "words"),
    [
        (
            lambda d: d["properties"]["temperature"].update(minimum="zero"),
            "/properties/temperature/minimum",
            "is not of type 'number'",
        ),
        (
            lambda d: d["properties"]["top_k"].update({"x-placement": "body"}),
            "/properties/top_k/x-placement",
            "is not one of",
        ),
        (
            lambda d: d["properties"]["seed"].pop("x-provenance"),
            "/properties/seed",
            "'x-provenance' is a required",
        ),
        (
            lambda d: d["x-surface"].update({"unknown-keys": "maybe"}),
            "/x-surface/unknown-keys",
            "is not one of",
        ),
    ],
)
def test_malformed_schema_names_file_and_pointer(
    schemas_copy: Path, mutation: object, pointer: str, words: str
) -> None:
    path = _break(schemas_copy, "oruel", mutation)
    with pytest.raises(SchemaError) as caught:
        load_surface(path)
    message = str(caught.value)
    assert "\n" not in message
    assert "oruel.json" in message and pointer in message and words in message


def test_broken_json_names_file_line_and_column(schemas_copy: Path) -> None:
    path = schemas_copy / "vllm.json"
    path.write_text('{"title": "x",\n  "type": }')
    with pytest.raises(SchemaError, match=r"vllm\.json: /: invalid JSON at line 2 column 11"):
        load_catalogue(schemas_copy)


def test_schemas_check_exits_2_with_one_line(
    schemas_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _break(schemas_copy, "openai", lambda d: d["properties"]["n"].update(maximum=[1]))
    monkeypatch.setenv("HARNESS_ROOT", str(schemas_copy.parent))
    assert main(["schemas", "--check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "schemas/openai.json: /properties/n/maximum:" in err


def test_schemas_check_passes_on_the_shipped_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "--check"]) == 0
    assert "16 surfaces valid" in capsys.readouterr().out


def test_meta_schema_is_itself_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(json.loads((ROOT / "schemas/meta/annotations.schema.json").read_text()))
    for path in (ROOT / "schemas/responses").glob("*.json"):
        Draft202012Validator.check_schema(json.loads(path.read_text()))


@pytest.mark.parametrize("key", sorted(SURFACES))
def test_each_reference_surface_is_what_the_reference_documents(key: str) -> None:
    """The surfaces written from the reference (reference/provider-params.json, by python -m
    harness.schema.reference) are exactly what it writes: regenerated, never edited."""
    name, unknown_keys = SURFACES[key]
    shipped = json.loads((ROOT / f"schemas/{name}.json").read_text())
    assert shipped == surface_schema(key, name, unknown_keys)


def test_reference_bounds_become_the_right_keywords() -> None:
    nim = surface_schema("nvidia_nim_llm", "nvidia-nim")["properties"]
    top_p, penalty = nim["top_p"], nim["repetition_penalty"]
    assert (top_p["exclusiveMinimum"], top_p["maximum"], top_p["x-placement"]) == (0, 1, "standard")
    assert (penalty["exclusiveMinimum"], penalty["maximum"], penalty["x-placement"]) == (0, 2, "extension")
    assert "maximum" not in nim["temperature"]  # the reference gives none
    groq = surface_schema("groq", "groq", "reject")
    assert groq["properties"]["stop"]["maxItems"] == 4 and "maximum" not in groq["properties"]["stop"]
    assert "messages[].name" not in groq["properties"] and "model" not in groq["properties"]
    assert groq["x-surface"]["unknown-keys"] == "reject"
    mistral = surface_schema("mistral", "mistral", "reject")
    assert "output_dimension" in mistral["$defs"]["embeddings"]["properties"]


def test_the_checkout_catalogue_is_not_laid_over_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """From a checkout the built-in catalogue is the top-level schemas/ (a wheel ships it as
    harness/_schemas/); this repository's own schemas/ is then that same folder, read once."""
    assert paths.BUILTIN_SCHEMAS == ROOT / "schemas"
    monkeypatch.setenv("HARNESS_ROOT", str(ROOT))
    assert paths.schema_dirs() == [ROOT / "schemas"]


def test_a_projects_schemas_add_and_replace_surfaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "schemas"
    own.mkdir()
    openai = json.loads((ROOT / "schemas/openai.json").read_text())
    openai["title"] = "our openai"
    (own / "openai.json").write_text(json.dumps(openai))
    openai["x-surface"]["name"] = "in-house"
    (own / "in-house.json").write_text(json.dumps(openai))
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    assert paths.schema_dirs() == [ROOT / "schemas", own]
    catalogue = load_catalogue()
    assert catalogue["openai"].title == "our openai" and catalogue["openai"].path == own / "openai.json"
    assert catalogue["in-house"].path == own / "in-house.json"
    assert catalogue["vllm"].path == ROOT / "schemas/vllm.json"


def test_the_reference_is_in_the_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The converter reads the repository's copy unless told another file; nothing outside the
    checkout is needed to regenerate or to test a surface."""
    from harness.schema import reference

    assert reference.REFERENCE == REFERENCE / "provider-params.json" and reference.REFERENCE.is_file()
    other = json.loads(reference.REFERENCE.read_text())
    other["groq"]["parameters"] = [p for p in other["groq"]["parameters"] if p["name"] != "seed"]
    (tmp_path / "other.json").write_text(json.dumps(other))
    assert "seed" in surface_schema("groq", "groq")["properties"]
    assert "seed" not in surface_schema("groq", "groq", reference=tmp_path / "other.json")["properties"]
    with pytest.raises(SystemExit) as exited:
        reference.main(["--from", str(tmp_path / "other.json"), "groq", "nope"])
    assert exited.value.code == 2 and "no surface for entry 'nope'" in capsys.readouterr().err
