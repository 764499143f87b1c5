"""`load_spec` end to end: canonical output, defaults, directories, warnings, the schema, the examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spd.config.settings import load_settings
from spd.errors import SpecError
from spd.model import (
    BoundingBox,
    ConnectedHome,
    DesiredProcessor,
    FaceSearch,
    Point,
    Polygon,
    ProcessorConfig,
    RunState,
    SourceLocation,
)
from spd.spec import load_spec, spec_json_schema
from spec_support import (
    KDS,
    KMS,
    KVS,
    ROLE,
    SNS,
    diagnostics_of,
    dump_yaml,
    errors_of,
    load_text,
    valid_data,
    write,
)

ROOT = Path(__file__).resolve().parents[3]


def test_the_valid_spec_becomes_canonical_desired_state(tmp_path: Path) -> None:
    path = write(tmp_path, dump_yaml(valid_data(), flow=False))
    desired = load_spec(path, environ={}).desired
    assert desired.stack == "lobby-cams"
    assert desired.files == (str(path),)
    assert desired.regions == ("us-east-1",)
    faces, porch = desired.processors
    assert faces == DesiredProcessor(
        config=ProcessorConfig(
            name="lobby-faces",
            region="us-east-1",
            role_arn=ROLE,
            kinesis_video_stream_arn=KVS.format("lobby"),
            settings=FaceSearch(collection_id="staff", face_match_threshold=85),
            kinesis_data_stream_arn=KDS.format("lobby-faces"),
        ),
        run_state=RunState.RUNNING,
        tags=(("site", "hq"), ("spd:stack", "lobby-cams"), ("team", "vision")),
        protect=True,
        source=faces.source,
    )
    assert porch == DesiredProcessor(
        config=ProcessorConfig(
            name="porch-labels",
            region="us-east-1",
            role_arn=ROLE,
            kinesis_video_stream_arn=KVS.format("porch"),
            settings=ConnectedHome(labels=("PACKAGE", "PERSON"), min_confidence=60),
            s3_bucket="spd-porch-results",
            s3_key_prefix="porch/",
            sns_topic_arn=SNS,
            kms_key_id=KMS,
            regions_of_interest=(
                Polygon((Point(0.1, 0.6), Point(0.9, 0.6), Point(0.5, 0.95))),
                BoundingBox(0.1, 0.1, 0.5, 0.5),
            ),
        ),
        run_state=RunState.STOPPED,
        tags=(("spd:stack", "lobby-cams"), ("team", "vision")),
        protect=False,
        source=porch.source,
    )
    # The source location is the processor's entry in the file (its first key).
    text = path.read_text().splitlines()
    assert faces.source is not None
    assert porch.source is not None
    for source in (faces.source, porch.source):
        assert text[source.line - 1][: source.column - 1] == "- "


def test_aws_defaults_are_filled_in(tmp_path: Path) -> None:
    data = valid_data()
    del data["processors"][0]["face_search"]["face_match_threshold"]
    del data["processors"][1]["connected_home"]["min_confidence"]
    del data["processors"][1]["data_sharing"]
    del data["processors"][0]["protect"]
    faces, porch = load_text(tmp_path, dump_yaml(data)).desired.processors
    assert faces.config.settings == FaceSearch("staff", 80.0)
    assert porch.config.settings == ConnectedHome(("PACKAGE", "PERSON"), 50.0)
    assert porch.config.data_sharing is False
    assert faces.protect is False


def test_a_threshold_below_80_warns_and_is_planned_as_80(tmp_path: Path) -> None:
    data = valid_data()
    data["processors"][0]["face_search"]["face_match_threshold"] = 70
    loaded = load_text(tmp_path, dump_yaml(data))
    assert loaded.desired.processors[0].config.settings == FaceSearch("staff", 80.0)
    [warning] = loaded.warnings
    assert warning.severity == "warning"
    assert warning.path == "processors[0].face_search.face_match_threshold"
    assert "AWS stores thresholds below 80 as 80; planned as 80" in warning.message


def test_repeated_labels_warn_and_count_once(tmp_path: Path) -> None:
    data = valid_data()
    data["processors"][1]["connected_home"]["labels"] = ["PET", "PERSON", "PET"]
    loaded = load_text(tmp_path, dump_yaml(data))
    assert loaded.desired.processors[1].config.settings.labels == ("PERSON", "PET")  # type: ignore[union-attr]
    assert [w.path for w in loaded.warnings] == ["processors[1].connected_home.labels[2]"]


def test_regions_of_interest_on_face_search_warn(tmp_path: Path) -> None:
    data = valid_data()
    data["processors"][0]["regions_of_interest"] = [
        {"polygon": [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 0, "y": 1}]}
    ]
    loaded = load_text(tmp_path, dump_yaml(data))
    assert [w.path for w in loaded.warnings] == ["processors[0].regions_of_interest"]
    assert len(loaded.desired.processors[0].config.regions_of_interest) == 1


def test_a_warning_is_not_an_error_but_is_reported_with_errors(tmp_path: Path) -> None:
    data = valid_data()
    data["processors"][0]["face_search"]["face_match_threshold"] = 70
    data["processors"][1]["name"] = "bad name"
    diagnostics = diagnostics_of(tmp_path, dump_yaml(data))
    assert [d.severity for d in diagnostics] == ["warning", "error"]
    assert "warning: AWS stores" in str(diagnostics[0])


# --- defaults ------------------------------------------------------------------------------------


def _file(processors: str, defaults: str = "") -> str:
    return f"version: 1\nstack: s\ndefaults:\n  region: us-east-1\n  role_arn: {ROLE}\n{defaults}processors:\n{processors}"


FACES = f"""\
  - name: cam
    input: {{kinesis_video_stream_arn: "{KVS.format("cam")}"}}
    face_search: {{collection_id: staff}}
    output: {{kinesis_data_stream_arn: "{KDS.format("cam")}"}}
"""


def test_processor_keys_win_whole_and_tags_merge_per_key(tmp_path: Path) -> None:
    defaults = (
        "  face_search: {collection_id: everyone, face_match_threshold: 99}\n"
        "  desired_state: stopped\n"
        "  tags: {team: vision, site: hq}\n"
    )
    processors = FACES + "    tags: {site: annex, floor: '2'}\n"
    [processor] = load_text(tmp_path, _file(processors, defaults)).desired.processors
    # face_search on the processor replaces the default's entirely: its threshold is not inherited.
    assert processor.config.settings == FaceSearch("staff", 80.0)
    assert processor.run_state is RunState.STOPPED
    assert processor.tag_dict == {"team": "vision", "site": "annex", "floor": "2", "spd:stack": "s"}


def test_an_empty_value_cancels_a_default(tmp_path: Path) -> None:
    processors = FACES + "    tags: ~\n    desired_state: ~\n"
    defaults = "  tags: {team: vision}\n  desired_state: stopped\n"
    [processor] = load_text(tmp_path, _file(processors, defaults)).desired.processors
    assert processor.tag_dict == {"spd:stack": "s"}
    assert processor.run_state is RunState.RUNNING


def test_a_bad_default_is_reported_once_under_defaults(tmp_path: Path) -> None:
    processors = FACES + FACES.replace("cam", "cam2")
    errors = errors_of(tmp_path, _file(processors, "  data_sharing: 'no'\n"))
    assert [(e.path, e.line) for e in errors] == [("defaults.data_sharing", 6)]


def test_a_default_that_does_not_fit_a_processor_is_reported_per_processor(tmp_path: Path) -> None:
    defaults = f"  notification_channel: {{sns_topic_arn: '{SNS}'}}\n"
    errors = errors_of(tmp_path, _file(FACES + FACES.replace("cam", "cam2"), defaults))
    assert [(e.path, e.line, e.column) for e in errors] == [
        ("processors[0].notification_channel", 6, 3),
        ("processors[1].notification_channel", 6, 3),
    ]
    assert all(e.message.endswith("(inherited from defaults)") for e in errors)


# --- directories ---------------------------------------------------------------------------------


def _dir_spec(stack: str, name: str) -> str:
    return f"""\
version: 1
stack: {stack}
defaults: {{region: us-east-1, role_arn: "{ROLE}", tags: {{file: {name}}}}}
processors:
  - name: {name}
    input: {{kinesis_video_stream_arn: "{KVS.format(name)}"}}
    face_search: {{collection_id: staff}}
    output: {{kinesis_data_stream_arn: "{KDS.format(name)}"}}
"""


def test_a_directory_merges_its_yaml_files_in_name_order(tmp_path: Path) -> None:
    write(tmp_path, _dir_spec("s", "zeta"), "b.yaml")
    write(tmp_path, _dir_spec("s", "alpha"), "c.yml")
    write(tmp_path, _dir_spec("s", "mid"), "a.yaml")
    write(tmp_path, "not: a spec", "notes.txt")
    write(tmp_path, "{", ".editor-backup.yaml")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "{", "ignored.yaml")
    desired = load_spec(tmp_path, environ={}).desired
    assert [p.name for p in desired.processors] == ["mid", "zeta", "alpha"]
    assert desired.files == tuple(str(tmp_path / n) for n in ("a.yaml", "b.yaml", "c.yml"))
    # Defaults apply only to the processors of their own file.
    assert [p.tag_dict["file"] for p in desired.processors] == ["mid", "zeta", "alpha"]


def test_every_file_of_a_directory_names_the_same_stack(tmp_path: Path) -> None:
    write(tmp_path, _dir_spec("lobby", "a"), "a.yaml")
    write(tmp_path, _dir_spec("porch", "b"), "b.yaml")
    [error] = errors_of_dir(tmp_path)
    assert (error.file, error.line, error.column, error.path) == (str(tmp_path / "b.yaml"), 2, 8, "stack")
    assert f"differs from 'lobby' in {tmp_path / 'a.yaml'}:2:8" in error.message


def test_problems_in_several_files_are_all_reported_sorted(tmp_path: Path) -> None:
    write(tmp_path, _dir_spec("s", "a").replace("version: 1", "version: 3"), "a.yaml")
    write(tmp_path, _dir_spec("s", "b").replace("staff", "no"), "b.yaml")
    write(tmp_path, "", "c.yaml")
    errors = errors_of_dir(tmp_path)
    assert [(Path(e.file).name, e.line) for e in errors] == [("a.yaml", 1), ("b.yaml", 7), ("c.yaml", 1)]


def test_a_missing_path_or_an_empty_directory_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file or directory"):
        load_spec(tmp_path / "absent.yaml")
    with pytest.raises(SpecError, match=r"no \*\.yaml or \*\.yml spec files"):
        load_spec(tmp_path)


def errors_of_dir(directory: Path) -> list:  # type: ignore[type-arg]
    with pytest.raises(SpecError) as caught:
        load_spec(directory, environ={})
    return [d for d in caught.value.diagnostics if d.severity == "error"]


# --- the process environment and the examples ----------------------------------------------------


def test_the_process_environment_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPD_TEST_COLLECTION", "from-env")
    path = write(
        tmp_path, _file(FACES.replace("collection_id: staff", "collection_id: '${SPD_TEST_COLLECTION}'"))
    )
    [processor] = load_spec(path).desired.processors
    assert processor.config.settings == FaceSearch("from-env")


def test_the_example_config_is_valid() -> None:
    loaded = load_spec(ROOT / "config", environ={})
    assert loaded.warnings == ()
    desired = loaded.desired
    assert desired.stack == "lobby-cams"
    by_name = {p.name: p for p in desired.processors}
    assert sorted(by_name) == [
        "backyard-labels",
        "entrance-north-faces",
        "garage-labels",
        "loading-dock-faces",
        "lobby-faces",
        "porch-labels",
    ]
    assert by_name["lobby-faces"].protect is True
    assert by_name["loading-dock-faces"].run_state is RunState.STOPPED
    assert by_name["entrance-north-faces"].run_state is RunState.RUNNING
    assert by_name["garage-labels"].config.kms_key_id is None
    assert by_name["porch-labels"].config.kms_key_id == KMS
    assert by_name["garage-labels"].tag_dict["team"] == "facilities"
    assert {p.config.region for p in desired.processors} == {"us-east-1"}
    assert by_name["lobby-faces"].source == SourceLocation(str(ROOT / "config" / "lobby.yaml"), 13, 5)


def test_the_example_settings_file_loads() -> None:
    settings = load_settings(ROOT / "config" / "settings" / "spd-settings.yaml", environ={})
    assert settings.interval == 300
    assert settings.rate_limits["DescribeStreamProcessor"] == 10
    assert settings.metrics_address == "127.0.0.1:9464"


# --- JSON Schema ---------------------------------------------------------------------------------


def test_the_json_schema_describes_every_key() -> None:
    schema = spec_json_schema()
    json.dumps(schema)  # serialisable as is
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["version", "stack", "processors"]
    assert schema["additionalProperties"] is False
    processor = schema["$defs"]["ProcessorSpec"]
    assert processor["required"] == ["name"]
    assert processor["additionalProperties"] is False
    assert {"region", "role_arn", "input", "face_search", "connected_home", "output", "notification_channel",
            "kms_key_id", "regions_of_interest", "data_sharing", "desired_state", "protect", "tags", "target", "sessions",
            "name"} == set(processor["properties"])  # fmt: skip
    assert "name" not in schema["$defs"]["ProcessorDefaults"]["properties"]
    assert processor["properties"]["name"]["pattern"] == "^[a-zA-Z0-9_.\\-]+$"
    assert processor["properties"]["name"]["maxLength"] == 128
    assert "description" in processor["properties"]["region"]
