"""`spd.reconcile.importer`: observed processors written as a spec that reads back as the same fleet.

The property: for any small fleet the service could hold, the rendered text loads with `load_spec`
into desired processors whose configs equal the observed ones, whose run states keep what is running
running and what is stopped stopped, and whose tags are the observed user tags.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from builders import ACCOUNT, face_config, home_config
from spd.model import (
    STACK_TAG,
    BoundingBox,
    ConnectedHome,
    FaceSearch,
    ObservedProcessor,
    Point,
    Polygon,
    ProcessorConfig,
    RunState,
    Status,
    canonical_tags,
    f32,
)
from spd.reconcile.importer import human_float, render_spec, run_state, user_tags
from spd.spec import load_spec

REGIONS = ("us-east-1", "eu-west-1")
ROLES = (f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition", f"arn:aws:iam::{ACCOUNT}:role/Other")
# Tag values a careless YAML writer would let change type (or meaning) on the way back.
AWKWARD = ("0o17", "no", "", "3", "a: b", "x y", "-1", "1e3", "null", "true", "0x1F", ".inf", "- a")


def test_floats_are_written_as_a_person_would():
    assert human_float(f32(0.1)) == 0.1
    assert repr(human_float(f32(0.1))) == "0.1"
    assert human_float(f32(33.33)) == 33.33
    assert human_float(80.0) == 80
    assert isinstance(human_float(80.0), int)
    assert human_float(f32(85.5)) == 85.5


@given(st.floats(min_value=0, max_value=100, allow_nan=False))
def test_the_written_float_is_stored_as_the_same_single_precision_value(value):
    assert f32(human_float(f32(value))) == f32(value)


coordinate = st.floats(min_value=0, max_value=1, allow_nan=False)


@st.composite
def boxes(draw: st.DrawFn) -> BoundingBox:
    left, top = draw(coordinate), draw(coordinate)
    width = draw(st.floats(min_value=0, max_value=1 - left))
    height = draw(st.floats(min_value=0, max_value=1 - top))
    return BoundingBox(left, top, width, height)


polygons = st.lists(st.builds(Point, coordinate, coordinate), min_size=3, max_size=10).map(
    lambda points: Polygon(tuple(points))
)
tags = st.dictionaries(
    st.sampled_from(["team", "site", "camera", "spd:note", "1", "no"]), st.sampled_from(AWKWARD), max_size=4
)


@st.composite
def processors(draw: st.DrawFn, name: str) -> ObservedProcessor:
    region = draw(st.sampled_from(REGIONS))
    regions_of_interest = tuple(draw(st.lists(st.one_of(boxes(), polygons), max_size=3)))
    common = {
        "region": region,
        "role_arn": draw(st.sampled_from(ROLES)),
        "kinesis_video_stream_arn": f"arn:aws:kinesisvideo:{region}:{ACCOUNT}:stream/{name}/1",
        "regions_of_interest": regions_of_interest,
        "data_sharing": draw(st.booleans()),
    }
    config: ProcessorConfig
    if draw(st.booleans()):
        threshold = draw(st.floats(min_value=0, max_value=100))
        config = face_config(
            name,
            **common,
            settings=FaceSearch(draw(st.sampled_from(["staff", "0o17"])), threshold),
        )
        config = replace(config, kinesis_data_stream_arn=f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{name}")
    else:
        labels = draw(st.lists(st.sampled_from(["PERSON", "PET", "PACKAGE", "ALL"]), min_size=1, max_size=3))
        settings_ = ConnectedHome(tuple(labels), draw(st.floats(min_value=0, max_value=100)))
        config = home_config(
            name,
            **common,
            settings=settings_,
            s3_key_prefix=draw(st.sampled_from([None, f"{name}/"])),
            sns_topic_arn=f"arn:aws:sns:{region}:{ACCOUNT}:HomeEvents",
            kms_key_id=draw(st.sampled_from([None, "alias/spd-home"])),
        )
    observed_tags = draw(tags)
    if draw(st.booleans()):
        observed_tags[STACK_TAG] = "someone"
    return ObservedProcessor(
        id=config.id,
        status=draw(st.sampled_from(list(Status))),
        status_message=draw(st.sampled_from([None, "stream\nnot found # really"])),
        config=config,
        tags=canonical_tags(observed_tags),
    )


@st.composite
def fleets(draw: st.DrawFn) -> list[ObservedProcessor]:
    names = draw(
        st.lists(st.sampled_from(["a", "b-1", "c.2", "d_3", "e"]), min_size=1, max_size=5, unique=True)
    )
    return [draw(processors(name)) for name in names]


@settings(max_examples=60, deadline=None)
@given(fleets(), st.sampled_from(["imported", "taken-over"]))
def test_an_imported_fleet_loads_back_as_the_same_fleet(fleet, stack):
    text = render_spec(stack, fleet, source="test")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "spec.yaml"
        path.write_text(text, encoding="utf-8")
        desired = load_spec(path).desired
    assert desired.stack == stack
    by_id = desired.by_id()
    assert set(by_id) == {p.id for p in fleet}
    for observed in fleet:
        wanted = by_id[observed.id]
        assert wanted.config == observed.config, text
        assert wanted.run_state == run_state(observed)
        if observed.status is Status.RUNNING:
            assert wanted.run_state is (
                RunState.RUNNING if isinstance(observed.config.settings, FaceSearch) else RunState.STOPPED
            )
        assert {k: v for k, v in wanted.tags if k != STACK_TAG} == user_tags(observed)
