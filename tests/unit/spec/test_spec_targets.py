"""`targets` and a processor's `target`: the model they load into, and each rule's located error."""

from __future__ import annotations

from pathlib import Path

import pytest

from spd.model import ProcessorId, Target
from spec_support import dump_yaml, errors_of, load_text, valid_data

HUB = "arn:aws:iam::999999999999:role/hub"
MANAGER = "arn:aws:iam::111122223333:role/spd-manager"


def _with_targets(**extra: object) -> dict[str, object]:
    data = valid_data()
    data["targets"] = {
        "prod": {
            "account_id": "111122223333",
            "role_arn": [HUB, MANAGER],
            "external_id": "secret-1",
            "regions": ["us-east-1", "eu-west-1"],
        },
        "lab": {"profile": "lab", "regions": ["us-east-1"]},
    }
    data["defaults"] = {**data.get("defaults", {}), "target": "prod"}
    data.update(extra)
    return data


def test_targets_load_into_the_model_and_into_processor_identity(tmp_path: Path) -> None:
    desired = load_text(tmp_path, dump_yaml(_with_targets())).desired
    assert desired.targets == (
        Target("lab", ("us-east-1",), profile="lab"),
        Target("prod", ("us-east-1", "eu-west-1"), "111122223333", (HUB, MANAGER), "secret-1"),
    )
    first = desired.processors[0]
    assert first.target == "prod"
    assert first.id == ProcessorId(first.config.region, first.name, "prod")
    assert str(first.id) == f"prod/{first.config.region}/{first.name}"
    assert desired.locations == (("prod", "us-east-1"),)


def test_without_targets_the_processors_have_the_ambient_target(tmp_path: Path) -> None:
    desired = load_text(tmp_path, dump_yaml(valid_data())).desired
    assert desired.targets == ()
    assert {p.target for p in desired.processors} == {""}
    assert str(desired.processors[0].id) == f"us-east-1/{desired.processors[0].name}"


def _messages(tmp_path: Path, data: dict[str, object]) -> list[tuple[str, str]]:
    return [(d.path, d.message) for d in errors_of(tmp_path, dump_yaml(data))]


def test_an_unknown_target_is_a_located_error(tmp_path: Path) -> None:
    data = _with_targets()
    data["processors"][0]["target"] = "prd"  # type: ignore[index]
    errors = errors_of(tmp_path, dump_yaml(data))
    assert [(e.path, e.message) for e in errors] == [
        ("processors[0].target", "unknown target 'prd' (declared: lab, prod); did you mean 'prod'?")
    ]
    assert errors[0].line > 1


def test_a_region_outside_the_targets_regions_is_an_error(tmp_path: Path) -> None:
    data = _with_targets()
    data["processors"][0]["target"] = "lab"  # type: ignore[index]
    data["processors"][0]["region"] = "eu-west-1"  # type: ignore[index]
    found = _messages(tmp_path, data)
    assert (
        "processors[0].region",
        "region eu-west-1 is not one of the regions of target 'lab' (us-east-1)",
    ) in found


@pytest.mark.parametrize(
    ("index", "path"),
    [
        (0, ("input", "kinesis_video_stream_arn")),
        (0, ("output", "kinesis_data_stream_arn")),
        (1, ("notification_channel", "sns_topic_arn")),
        (1, ("kms_key_id",)),
    ],
)
def test_an_arn_naming_another_account_than_the_targets_is_an_error(
    tmp_path: Path, index: int, path: tuple[str, ...]
) -> None:
    data = _with_targets()
    holder = data["processors"][index]  # type: ignore[index]
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = holder[path[-1]].replace("111122223333", "444455556666")
    found = _messages(tmp_path, data)
    assert (
        f"processors[{index}]." + ".".join(path),
        "this ARN names account 444455556666, but target 'prod' is account 111122223333",
    ) in found


def test_a_role_chain_must_be_a_list_of_role_arns(tmp_path: Path) -> None:
    data = _with_targets()
    data["targets"]["prod"]["role_arn"] = [HUB, 5, "arn:aws:s3:::bucket"]  # type: ignore[index]
    found = _messages(tmp_path, data)
    assert [p for p, _ in found] == ["targets.prod.role_arn[1]", "targets.prod.role_arn[2]"]
    assert all("a role chain is a list of role ARNs" in m for _, m in found)


def test_the_last_role_must_be_the_targets_account_and_role_excludes_profile(tmp_path: Path) -> None:
    data = _with_targets()
    data["targets"]["prod"]["role_arn"] = [MANAGER, HUB]  # type: ignore[index]
    data["targets"]["lab"]["role_arn"] = MANAGER  # type: ignore[index]
    found = dict(_messages(tmp_path, data))
    assert "the last role of a chain is the target account's" in found["targets.prod.role_arn[1]"]
    assert found["targets.lab.profile"] == "a target is reached by role_arn or by profile, not both"


def test_bad_account_id_and_empty_regions_are_schema_errors(tmp_path: Path) -> None:
    data = _with_targets()
    data["targets"]["prod"]["account_id"] = "1234"  # type: ignore[index]
    data["targets"]["lab"]["regions"] = []  # type: ignore[index]
    paths = [p for p, _ in _messages(tmp_path, data)]
    assert "targets.prod.account_id" in paths
    assert "targets.lab.regions" in paths


def test_a_name_may_repeat_under_another_target(tmp_path: Path) -> None:
    data = _with_targets()
    first = dict(data["processors"][0])  # type: ignore[index]
    first["target"] = "lab"
    first["region"] = "us-east-1"
    first["role_arn"] = "arn:aws:iam::777777777777:role/x"
    for key, value in list(first.items()):
        if isinstance(value, dict):
            first[key] = {
                k: v.replace("111122223333", "777777777777") if isinstance(v, str) else v
                for k, v in value.items()
            }
    data["processors"].append(first)  # type: ignore[union-attr]
    desired = load_text(tmp_path, dump_yaml(data)).desired
    same = [p.id for p in desired.processors if p.name == first["name"]]
    assert same == [
        ProcessorId("us-east-1", first["name"], "prod"),
        ProcessorId("us-east-1", first["name"], "lab"),
    ]


def test_a_role_arn_from_defaults_in_another_account_is_located_in_defaults(tmp_path: Path) -> None:
    data = _with_targets()
    data["defaults"]["role_arn"] = "arn:aws:iam::444455556666:role/rk"  # type: ignore[index]
    errors = errors_of(tmp_path, dump_yaml(data))
    assert {e.path for e in errors} == {"processors[0].role_arn", "processors[1].role_arn"}
    assert all(e.message.endswith("(inherited from defaults)") for e in errors)
    assert len({(e.line, e.column) for e in errors}) == 1
