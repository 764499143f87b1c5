"""The generated API description matches botocore's model, and the hand-kept rules agree with it."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest

from spd.api import generate, rules
from spd.api.model import MODEL

REKOGNITION = botocore.session.get_session().get_service_model("rekognition")


def test_generated_module_is_current() -> None:
    """Regenerating gives the committed file: a botocore upgrade that moves a constraint fails here."""
    committed = Path(generate.__file__).with_name("model.py").read_text(encoding="utf-8")
    assert generate.render() == committed, "spd/api/model.py is stale: run `python -m spd.api.generate`"


@pytest.mark.parametrize("operation", generate.OPERATIONS)
def test_every_operation_is_described(operation: str) -> None:
    described = MODEL.operations[operation]
    real = REKOGNITION.operation_model(operation)
    assert described.input == real.input_shape.name
    assert set(described.errors) == {error.name for error in real.error_shapes}


def test_constraints_are_the_models() -> None:
    name = MODEL.member_shape("CreateStreamProcessorRequest", "Name")
    assert (name.min, name.max, name.pattern) == (1, 128, r"[a-zA-Z0-9_.\-]+")
    threshold = MODEL.member_shape(
        "CreateStreamProcessorRequest", "Settings", "FaceSearch", "FaceMatchThreshold"
    )
    assert (threshold.type, threshold.min, threshold.max) == ("float", 0, 100)
    regions = MODEL.member_shape("CreateStreamProcessorRequest", "RegionsOfInterest")
    assert regions.max == 10


def test_parameters_to_delete_agree_with_the_model_enum() -> None:
    shape = MODEL.member_shape("UpdateStreamProcessorRequest", "ParametersToDelete")
    assert shape.member is not None
    assert set(MODEL.shape(shape.member).enum) == set(rules.PARAMETERS_TO_DELETE)


def test_every_modelled_error_has_a_status() -> None:
    errors = {error for operation in MODEL.operations.values() for error in operation.errors}
    assert errors <= set(rules.ERROR_STATUS)


def test_labels_are_not_in_the_model() -> None:
    """If botocore ever gains the label enum, the hand-kept list must go: this test says so."""
    labels = MODEL.member_shape("CreateStreamProcessorRequest", "Settings", "ConnectedHome", "Labels")
    assert labels.member is not None
    assert MODEL.shape(labels.member).enum == ()
