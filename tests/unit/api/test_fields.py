"""The field table against the service model: every configuration member is a row, every row a member.

`spd.api.fields.FIELDS` is what the planner compares and updates and what the wire mapping sends and
reads; if botocore's model grows a member the table does not name, these tests say so.
"""

from __future__ import annotations

import pytest

from builders import face_config, home_config
from spd.api import rules
from spd.api.fields import BY_SPEC, FIELDS, OTHER_MEMBERS, UPDATABLE, ConfigField
from spd.api.model import MODEL
from spd.aws import mapping
from spd.model import BoundingBox, ConnectedHome, Point, Polygon, UpdateRequest
from spd.reconcile.plan import config_fields, update_request

CREATE = "CreateStreamProcessorRequest"
UPDATE = "UpdateStreamProcessorRequest"
DESCRIBE = "DescribeStreamProcessorResponse"


def _paths(shape_name: str, prefix: tuple[str, ...], covered: set[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Member paths under `shape_name` that no row covers (a row covers its path and all below it)."""
    missing = []
    for member in MODEL.shape(shape_name).members:
        path = (*prefix, member.name)
        if path in covered:
            continue
        below = MODEL.shape(member.shape)
        if below.type == "structure" and any(c[: len(path)] == path for c in covered):
            missing += _paths(member.shape, path, covered)
        else:
            missing.append(path)
    return missing


def _other(shape: str) -> set[tuple[str, ...]]:
    return {(name,) for name in OTHER_MEMBERS[shape]}


@pytest.mark.parametrize("shape", [CREATE, DESCRIBE])
def test_every_configuration_member_of_create_and_describe_is_a_row(shape):
    covered = {f.wire for f in FIELDS} | _other(shape)
    assert _paths(shape, (), covered) == []


def test_every_member_of_update_is_a_row():
    covered = {f.update for f in UPDATABLE if f.update is not None} | _other(UPDATE)
    assert _paths(UPDATE, (), covered) == []


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.spec)
def test_every_row_names_real_members(field: ConfigField):
    for shape in (CREATE, DESCRIBE):
        MODEL.member_shape(shape, *field.wire)  # raises on a member the model does not have
    if field.update is not None:
        MODEL.member_shape(UPDATE, *field.update)


def test_the_fields_that_can_be_cleared_are_the_models_parameters_to_delete():
    deletable = {f.delete for f in FIELDS if f.delete is not None}
    enum = MODEL.member_shape(UPDATE, "ParametersToDelete")
    assert deletable == set(MODEL.shape(enum.member or "").enum)
    assert deletable == set(rules.PARAMETERS_TO_DELETE)
    assert all(f.updatable for f in FIELDS if f.delete is not None)


def test_the_plan_compares_exactly_the_rows_of_a_kind():
    face = config_fields(face_config("a"))
    home = config_fields(home_config("b"))
    assert set(face) == {"kind"} | {f.spec for f in FIELDS if f.applies_to(rules.FACE_SEARCH)}
    assert set(home) == {"kind"} | {f.spec for f in FIELDS if f.applies_to(rules.CONNECTED_HOME)}
    assert set(BY_SPEC) == (set(face) | set(home)) - {"kind"}


def test_create_then_describe_gives_back_the_same_config():
    regions = (BoundingBox(0.1, 0.1, 0.2, 0.2), Polygon((Point(0, 0), Point(0.5, 0), Point(0, 0.5))))
    for config in (
        face_config("a", sns_topic_arn=None, kms_key_id=None, regions_of_interest=regions),
        home_config("b", kms_key_id="alias/k", data_sharing=True, regions_of_interest=regions),
        home_config("c", s3_key_prefix=None, regions_of_interest=()),
    ):
        request = mapping.create_request(config, {"spd:stack": "s"})
        assert mapping.config_from_describe(config.region, request) == config


def test_an_update_request_puts_every_changed_field_where_the_model_says():
    before = home_config("b")
    after = home_config(
        "b",
        settings=ConnectedHome(("PET", "PACKAGE"), 70.0),
        regions_of_interest=(BoundingBox(0.2, 0.2, 0.3, 0.3),),
        data_sharing=True,
    )
    request = mapping.update_request("b", update_request(after, before))
    regions = request.pop("RegionsOfInterestForUpdate")
    assert request == {
        "Name": "b",
        "SettingsForUpdate": {
            "ConnectedHomeForUpdate": {"Labels": ["PACKAGE", "PET"], "MinConfidence": 70.0}
        },
        "DataSharingPreferenceForUpdate": {"OptIn": True},
    }
    assert tuple(mapping.region_from_api(r) for r in regions) == after.regions_of_interest


def test_clearing_a_field_is_a_deletion_named_by_the_table():
    before = home_config("b")
    after = home_config("b", settings=ConnectedHome(("PERSON",)), regions_of_interest=())
    update = update_request(after, before)
    assert update == UpdateRequest(parameters_to_delete=("ConnectedHomeMinConfidence", "RegionsOfInterest"))
    assert mapping.update_request("b", update) == {
        "Name": "b",
        "ParametersToDelete": ["ConnectedHomeMinConfidence", "RegionsOfInterest"],
    }
