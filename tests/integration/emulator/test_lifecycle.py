"""The state machine: timed transitions, which operation is legal in which state (and the exact error
otherwise), start selectors, UpdateStreamProcessor semantics, asynchronous delete and name reuse."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from spd.emulator.testing import EmulatorControlError

LONG = 60.0
"""A transition time no test outlives, so that an intermediate state stays put while it is examined."""

OK = "ok"
IN_USE = "ResourceInUseException"
INVALID = "InvalidParameterException"


def _face_in(target: Any, control: Any, state: str) -> str:
    name = target.create_face_search("faces")
    if state == "STOPPED":
        return name
    if state == "FAILED":
        control.fail(name, "Access denied to Kinesis Video")
        return name
    if state == "STARTING":
        control.configure(start_seconds=LONG)
        target.client.start_stream_processor(Name=name)
        return name
    target.client.start_stream_processor(Name=name)
    target.wait_for(name, "RUNNING")
    if state == "STOPPING":
        control.configure(stop_seconds=LONG)
        target.client.stop_stream_processor(Name=name)
    return name


def _home_in(target: Any, control: Any, state: str) -> str:
    name = target.create_connected_home("porch")
    if state == "FAILED":
        control.fail(name, "Access denied to Role")
    elif state == "STARTING":
        target.start_connected_home(name, seconds=120)
    elif state == "UPDATING":
        control.configure(update_seconds=LONG)
        target.client.update_stream_processor(Name=name, DataSharingPreferenceForUpdate={"OptIn": True})
    return name


def _call(target: Any, name: str, operation: str, face_search: bool) -> None:
    client = target.client
    if operation == "start":
        if face_search:
            client.start_stream_processor(Name=name)
        else:
            target.start_connected_home(name, seconds=120)
    elif operation == "stop":
        client.stop_stream_processor(Name=name)
    elif operation == "update":
        client.update_stream_processor(
            Name=name, SettingsForUpdate={"ConnectedHomeForUpdate": {"MinConfidence": 70}}
        )
    elif operation == "delete":
        client.delete_stream_processor(Name=name)


# Delete in STARTING and STOPPING: the developer guide's example stops a processor and deletes it at once
# (https://docs.aws.amazon.com/rekognition/latest/dg/streaming-video.html), and its troubleshooting page
# says to delete a processor stuck in STARTING; AWS documents no refusal there.
FACE_MATRIX = {
    "STOPPED": {"start": OK, "stop": IN_USE, "update": INVALID, "delete": OK},
    "STARTING": {"start": IN_USE, "stop": IN_USE, "update": INVALID, "delete": OK},
    "RUNNING": {"start": IN_USE, "stop": OK, "update": INVALID, "delete": IN_USE},
    "STOPPING": {"start": IN_USE, "stop": IN_USE, "update": INVALID, "delete": OK},
    "FAILED": {"start": OK, "stop": IN_USE, "update": INVALID, "delete": OK},
}
HOME_MATRIX = {
    "STOPPED": {"start": OK, "stop": IN_USE, "update": OK, "delete": OK},
    "STARTING": {"start": IN_USE, "stop": IN_USE, "update": IN_USE, "delete": OK},
    "UPDATING": {"start": IN_USE, "stop": IN_USE, "update": IN_USE, "delete": IN_USE},
    "FAILED": {"start": OK, "stop": IN_USE, "update": OK, "delete": OK},
}
AFTER = {"start": ("STARTING", "RUNNING"), "stop": ("STOPPING", "STOPPED"), "update": ("UPDATING", "STOPPED")}
MESSAGES = {
    "stop": "Stream Processor not available for stopping",
    "delete": "Cannot delete stream processor.",
}


def _cases(matrix: dict[str, dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(state, op, expected) for state, ops in matrix.items() for op, expected in ops.items()]


def _check(target: Any, name: str, operation: str, expected: str, face_search: bool, state: str) -> None:
    if expected == OK:
        _call(target, name, operation, face_search)
        if operation == "delete":
            target.wait_gone(name)
        else:
            assert target.status(name) in AFTER[operation]
        return
    message = MESSAGES.get(operation) if expected == IN_USE else None
    with target.error(expected, 400, message):
        _call(target, name, operation, face_search)
    assert target.status(name) == state, "a refused operation must not change the status"


@pytest.mark.parametrize(("state", "operation", "expected"), _cases(FACE_MATRIX))
def test_face_search_operation_legality(
    target: Any, control: Any, state: str, operation: str, expected: str
) -> None:
    name = _face_in(target, control, state)
    assert target.status(name) == state
    _check(target, name, operation, expected, True, state)


@pytest.mark.parametrize(("state", "operation", "expected"), _cases(HOME_MATRIX))
def test_connected_home_operation_legality(
    target: Any, control: Any, state: str, operation: str, expected: str
) -> None:
    name = _home_in(target, control, state)
    assert target.status(name) == state
    _check(target, name, operation, expected, False, state)


@pytest.mark.usefixtures("running_resources")
def test_face_search_runs_and_stops(target: Any) -> None:
    name = target.create_face_search("faces")
    created = target.describe(name)
    session = target.client.start_stream_processor(Name=name)["SessionId"]
    assert uuid.UUID(session)
    assert target.status(name) in ("STARTING", "RUNNING")
    running = target.wait_for(name, "RUNNING")
    assert running["LastUpdateTimestamp"] > created["LastUpdateTimestamp"]
    target.client.stop_stream_processor(Name=name)
    assert target.status(name) in ("STOPPING", "STOPPED")
    target.wait_for(name, "STOPPED")


def test_intermediate_states_are_visible(target: Any, control: Any) -> None:
    control.configure(transition_seconds=LONG)
    name = target.create_face_search("faces")
    target.client.start_stream_processor(Name=name)
    assert target.status(name) == "STARTING"
    listed = target.client.list_stream_processors()["StreamProcessors"]
    assert {"Name": name, "Status": "STARTING"} in listed


def test_transitions_follow_the_configured_times(target: Any, control: Any) -> None:
    control.configure(start_seconds=0.0, stop_seconds=LONG)
    name = target.create_face_search("faces")
    target.client.start_stream_processor(Name=name)
    assert target.status(name) == "RUNNING"
    target.client.stop_stream_processor(Name=name)
    assert target.status(name) == "STOPPING"


def test_connected_home_session_ends_by_itself(target: Any, control: Any) -> None:
    control.configure(session_time_scale=0.05)
    name = target.create_connected_home("porch")
    target.start_connected_home(name, seconds=1)
    target.wait_for(name, "STOPPED")
    assert "StatusMessage" not in target.describe(name)


def test_connected_home_default_session_length(target: Any, control: Any) -> None:
    control.configure(session_time_scale=0.01, default_max_duration_seconds=120)
    name = target.create_connected_home("porch")
    target.client.start_stream_processor(
        Name=name,
        StartSelector={
            "KVSStreamStartSelector": {"FragmentNumber": "91343852333181432392682062607743920146"}
        },
        StopSelector={},
    )
    assert target.status(name) == "STARTING"
    target.wait_for(name, "STOPPED")


def test_connected_home_never_reports_running(target: Any, control: Any) -> None:
    control.configure(transition_seconds=0.0)
    name = target.create_connected_home("porch")
    target.start_connected_home(name, seconds=120)
    assert target.status(name) == "STARTING"


START_SELECTOR = {"KVSStreamStartSelector": {"ProducerTimestamp": 1_700_000_000_000}}
STOP_SELECTOR = {"MaxDurationInSeconds": 10}


@pytest.mark.parametrize(
    ("case", "arguments"),
    [
        ("no selectors", {}),
        ("only a start selector", {"StartSelector": START_SELECTOR}),
        ("only a stop selector", {"StopSelector": STOP_SELECTOR}),
        (
            "max duration 121",
            {"StartSelector": START_SELECTOR, "StopSelector": {"MaxDurationInSeconds": 121}},
        ),
        ("empty start selector", {"StartSelector": {}, "StopSelector": STOP_SELECTOR}),
        (
            "empty KVS start selector",
            {"StartSelector": {"KVSStreamStartSelector": {}}, "StopSelector": STOP_SELECTOR},
        ),
        (
            "timestamp and fragment",
            {
                "StartSelector": {"KVSStreamStartSelector": {"ProducerTimestamp": 1, "FragmentNumber": "1"}},
                "StopSelector": STOP_SELECTOR,
            },
        ),
        (
            "fragment number pattern",
            {
                "StartSelector": {"KVSStreamStartSelector": {"FragmentNumber": "12a"}},
                "StopSelector": STOP_SELECTOR,
            },
        ),
        (
            "fragment number of 129 digits",
            {
                "StartSelector": {"KVSStreamStartSelector": {"FragmentNumber": "1" * 129}},
                "StopSelector": STOP_SELECTOR,
            },
        ),
    ],
)
def test_connected_home_start_needs_valid_selectors(
    target: Any, case: str, arguments: dict[str, Any]
) -> None:
    name = target.create_connected_home("porch")
    with target.error(INVALID, 400):
        target.client.start_stream_processor(Name=name, **arguments)
    assert target.status(name) == "STOPPED"


@pytest.mark.parametrize("seconds", [1, 120])
def test_connected_home_max_duration_bounds(target: Any, seconds: int) -> None:
    name = target.create_connected_home("porch")
    target.client.start_stream_processor(
        Name=name,
        StartSelector={"KVSStreamStartSelector": {"FragmentNumber": "1" * 128}},
        StopSelector={"MaxDurationInSeconds": seconds},
    )
    assert target.status(name) in ("STARTING", "STOPPED")


@pytest.mark.parametrize(
    "arguments",
    [
        {"StartSelector": START_SELECTOR},
        {"StopSelector": STOP_SELECTOR},
        {"StartSelector": START_SELECTOR, "StopSelector": STOP_SELECTOR},
    ],
)
def test_face_search_start_refuses_selectors(target: Any, arguments: dict[str, Any]) -> None:
    name = target.create_face_search("faces")
    with target.error(INVALID, 400):
        target.client.start_stream_processor(Name=name, **arguments)
    assert target.status(name) == "STOPPED"


@pytest.mark.parametrize("operation", ["describe", "start", "stop", "update", "delete"])
def test_unknown_processor_is_not_found(target: Any, operation: str) -> None:
    name = target.name("missing")
    call = {
        "describe": lambda: target.client.describe_stream_processor(Name=name),
        "start": lambda: target.client.start_stream_processor(Name=name),
        "stop": lambda: target.client.stop_stream_processor(Name=name),
        "update": lambda: target.client.update_stream_processor(
            Name=name, DataSharingPreferenceForUpdate={"OptIn": True}
        ),
        "delete": lambda: target.client.delete_stream_processor(Name=name),
    }[operation]
    with target.error("ResourceNotFoundException", 400):
        call()


# -- UpdateStreamProcessor --------------------------------------------------------------------------


def test_update_changes_what_it_may(target: Any) -> None:
    name = target.create_connected_home("porch")
    target.client.update_stream_processor(
        Name=name,
        SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"], "MinConfidence": 75.5}},
        RegionsOfInterestForUpdate=[{"BoundingBox": {"Left": 0.0, "Top": 0.0, "Width": 0.5, "Height": 0.5}}],
        DataSharingPreferenceForUpdate={"OptIn": True},
    )
    assert target.status(name) in ("UPDATING", "STOPPED")
    described = target.wait_for(name, "STOPPED")
    assert described["Settings"]["ConnectedHome"] == {"Labels": ["PET"], "MinConfidence": 75.5}
    assert described["RegionsOfInterest"] == [
        {"BoundingBox": {"Left": 0.0, "Top": 0.0, "Width": 0.5, "Height": 0.5}}
    ]
    assert described["DataSharingPreference"] == {"OptIn": True}
    # Everything else is immutable and unchanged.
    assert described["NotificationChannel"] == {"SNSTopicArn": target.sns()}


def test_update_leaves_omitted_fields_alone(target: Any) -> None:
    name = target.create_connected_home(
        "porch",
        Settings={"ConnectedHome": {"Labels": ["PERSON"], "MinConfidence": 60}},
        RegionsOfInterest=[{"Polygon": [{"X": 0.1, "Y": 0.1}, {"X": 0.9, "Y": 0.1}, {"X": 0.5, "Y": 0.9}]}],
    )
    target.client.update_stream_processor(
        Name=name, SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["ALL"]}}
    )
    described = target.wait_for(name, "STOPPED")
    assert described["Settings"]["ConnectedHome"] == {"Labels": ["ALL"], "MinConfidence": 60.0}
    assert len(described["RegionsOfInterest"][0]["Polygon"]) == 3


def test_parameters_to_delete(target: Any) -> None:
    name = target.create_connected_home(
        "porch",
        Settings={"ConnectedHome": {"Labels": ["PERSON"], "MinConfidence": 60}},
        RegionsOfInterest=[{"BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.2, "Height": 0.2}}],
    )
    target.client.update_stream_processor(
        Name=name, ParametersToDelete=["ConnectedHomeMinConfidence", "RegionsOfInterest"]
    )
    described = target.wait_for(name, "STOPPED")
    assert described["Settings"]["ConnectedHome"]["MinConfidence"] == 50.0
    assert "RegionsOfInterest" not in described


@pytest.mark.parametrize(
    ("case", "arguments"),
    [
        (
            "regions and delete regions",
            {
                "RegionsOfInterestForUpdate": [
                    {"BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.2, "Height": 0.2}}
                ],
                "ParametersToDelete": ["RegionsOfInterest"],
            },
        ),
        (
            "min confidence and delete min confidence",
            {
                "SettingsForUpdate": {"ConnectedHomeForUpdate": {"MinConfidence": 60}},
                "ParametersToDelete": ["ConnectedHomeMinConfidence"],
            },
        ),
        ("unknown parameter to delete", {"ParametersToDelete": ["Labels"]}),
        (
            "11 regions",
            {
                "RegionsOfInterestForUpdate": [
                    {"BoundingBox": {"Left": 0, "Top": 0, "Width": 0.1, "Height": 0.1}}
                ]
                * 11
            },
        ),
        ("unknown label", {"SettingsForUpdate": {"ConnectedHomeForUpdate": {"Labels": ["CAR"]}}}),
        (
            "min confidence 100.01",
            {"SettingsForUpdate": {"ConnectedHomeForUpdate": {"MinConfidence": 100.01}}},
        ),
    ],
)
def test_update_rejects_invalid_requests(target: Any, case: str, arguments: dict[str, Any]) -> None:
    name = target.create_connected_home("porch")
    with target.error(INVALID, 400):
        target.client.update_stream_processor(Name=name, **arguments)
    assert target.status(name) == "STOPPED"


def test_face_search_data_sharing_can_be_updated(target: Any) -> None:
    """UpdateStreamProcessor documents DataSharingPreferenceForUpdate for every processor
    (https://docs.aws.amazon.com/rekognition/latest/APIReference/API_UpdateStreamProcessor.html)."""
    name = target.create_face_search("faces")
    assert target.describe(name)["DataSharingPreference"] == {"OptIn": False}
    target.client.update_stream_processor(Name=name, DataSharingPreferenceForUpdate={"OptIn": True})
    described = target.wait_for(name, "STOPPED")
    assert described["DataSharingPreference"] == {"OptIn": True}
    assert described["Settings"]["FaceSearch"]["CollectionId"] == "staff"


def test_face_search_cannot_take_label_detection_settings(target: Any) -> None:
    """SettingsForUpdate holds only ConnectedHomeForUpdate: it cannot apply to a face-search processor."""
    name = target.create_face_search("faces")
    with target.error(INVALID, 400):
        target.client.update_stream_processor(
            Name=name, SettingsForUpdate={"ConnectedHomeForUpdate": {"MinConfidence": 70}}
        )
    assert target.status(name) == "STOPPED"


def test_update_from_failed_is_a_setting(target: Any, control: Any) -> None:
    control.configure(update_allowed_in=["STOPPED"])
    name = target.create_connected_home("porch")
    control.fail(name, "Access denied to Role")
    with target.error(IN_USE, 400):
        target.client.update_stream_processor(Name=name, DataSharingPreferenceForUpdate={"OptIn": True})


def test_stopping_connected_home_is_a_setting(target: Any, control: Any) -> None:
    control.configure(connected_home_stop_allowed_in=["STARTING"])
    name = target.create_connected_home("porch")
    target.start_connected_home(name, seconds=120)
    target.client.stop_stream_processor(Name=name)
    target.wait_for(name, "STOPPED")


# -- failure ------------------------------------------------------------------------------------------


def test_forced_failure_and_restart(target: Any, control: Any) -> None:
    name = target.create_face_search("faces")
    target.client.start_stream_processor(Name=name)
    target.wait_for(name, "RUNNING")
    before = target.describe(name)["LastUpdateTimestamp"]
    described = control.fail(name, "Stream cam doesn't exist")
    assert described["Status"] == "FAILED"
    failed = target.describe(name)
    assert failed["Status"] == "FAILED"
    assert failed["StatusMessage"] == "Stream cam doesn't exist"
    assert failed["LastUpdateTimestamp"] >= before
    target.client.start_stream_processor(Name=name)
    restarted = target.wait_for(name, "RUNNING")
    assert "StatusMessage" not in restarted


def test_forced_failure_of_a_starting_processor_cancels_the_transition(target: Any, control: Any) -> None:
    name = target.create_face_search("faces")
    control.configure(start_seconds=0.05)
    target.client.start_stream_processor(Name=name)
    control.fail(name, "Access denied to Role")
    assert target.status(name) == "FAILED"


def test_forced_failure_addresses_a_region(target: Any, control: Any) -> None:
    other = control.client("eu-west-1")
    other.create_stream_processor(**target.face_search_request("faces"))
    with pytest.raises(EmulatorControlError) as info:
        control.fail("faces", "x")
    assert info.value.status == 404
    control.fail("faces", "Access denied to Role", region="eu-west-1")
    assert other.describe_stream_processor(Name="faces")["Status"] == "FAILED"


def test_forced_failure_of_an_unknown_processor(control: Any) -> None:
    with pytest.raises(EmulatorControlError) as info:
        control.fail("nobody", "x")
    assert info.value.status == 404


# -- delete and name reuse -------------------------------------------------------------------------------


def test_delete_is_asynchronous(target: Any, control: Any) -> None:
    control.configure(delete_seconds=LONG)
    name = target.create_face_search("faces")
    target.client.delete_stream_processor(Name=name)
    assert target.describe(name)["Name"] == name
    assert name in [p["Name"] for p in target.client.list_stream_processors()["StreamProcessors"]]
    target.client.delete_stream_processor(Name=name)  # a retried delete succeeds
    with target.error(IN_USE, 400):
        target.client.start_stream_processor(Name=name)
    with target.error(IN_USE, 400, "already in use"):
        target.create(target.face_search_request("faces"))


def test_deleted_processor_disappears(target: Any) -> None:
    name = target.create_face_search("faces")
    target.client.delete_stream_processor(Name=name)
    target.wait_gone(name)
    assert name not in [p["Name"] for p in target.client.list_stream_processors()["StreamProcessors"]]


def test_name_is_reserved_after_delete(target: Any, control: Any) -> None:
    control.configure(name_reuse_seconds=LONG)
    name = target.create_face_search("faces")
    target.client.delete_stream_processor(Name=name)
    target.wait_gone(name)
    with target.error(IN_USE, 400, "already in use"):
        target.create(target.face_search_request("faces"))


def test_name_can_be_reused_after_the_window(target: Any) -> None:
    name = target.create_face_search("faces")
    target.client.delete_stream_processor(Name=name)
    target.wait_gone(name)

    def created() -> bool:
        try:
            target.create(target.face_search_request("faces"))
        except target.client.exceptions.ResourceInUseException:
            return False
        return True

    target.eventually(created, "the name to become reusable")
    assert target.status(name) == "STOPPED"


@pytest.mark.parametrize(
    ("setting", "operation"),
    [
        ({"delete_allowed_in": ["STOPPED", "FAILED", "RUNNING"]}, "delete"),
        ({"start_allowed_in": ["STOPPED", "RUNNING"]}, "start"),
        ({"stop_allowed_in": []}, "stop"),
    ],
)
def test_state_rules_are_settings(target: Any, control: Any, setting: dict[str, Any], operation: str) -> None:
    name = _face_in(target, control, "RUNNING")
    control.configure(**setting)
    if operation == "stop":
        with target.error(IN_USE, 400, MESSAGES["stop"]):
            target.client.stop_stream_processor(Name=name)
        return
    _call(target, name, operation, True)
    if operation == "delete":
        target.wait_gone(name)
    else:
        assert target.status(name) in ("STARTING", "RUNNING")


def test_face_search_update_error_is_a_setting(target: Any, control: Any) -> None:
    control.configure(face_search_update_error="AccessDeniedException")
    name = target.create_face_search("faces")
    with target.error("AccessDeniedException", 400):
        target.client.update_stream_processor(
            Name=name, SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}}
        )
