"""The one "did you mean" of spd (`spd.spec.suggest`), and the refusals that use it for a processor name."""

from __future__ import annotations

import pytest

from builders import desired, home_config, state
from spd.sessions.trigger import RefusalReason, TriggerRefused, find_processor
from spd.spec.suggest import close_matches, did_you_mean


def test_the_nearest_name_is_suggested() -> None:
    assert did_you_mean("porhc", ["porch", "garage"]) == "; did you mean 'porch'?"
    assert did_you_mean("lobby-face", {"lobby-faces", "lobby-cams"}) == "; did you mean 'lobby-faces'?"


def test_nothing_close_suggests_nothing() -> None:
    assert did_you_mean("kitchen", ["porch", "garage"]) == ""
    assert did_you_mean("porch", []) == ""


def test_the_name_itself_is_never_suggested() -> None:
    # Found, but not where it was asked for (another region or target): not a spelling mistake.
    assert close_matches("porch", ["porch", "porch-2"]) == ["porch-2"]
    assert did_you_mean("porch", ["porch"]) == ""


def test_a_trigger_naming_an_unknown_processor_gets_the_nearest_name() -> None:
    spec = state(desired(home_config("porch")), desired(home_config("garage")))
    with pytest.raises(TriggerRefused) as refused:
        find_processor(spec, "porhc", None)
    assert refused.value.reason is RefusalReason.UNKNOWN_PROCESSOR
    assert str(refused.value).endswith("no processor 'porhc' in stack 'test-stack'; did you mean 'porch'?")


def test_a_processor_in_another_region_is_not_suggested_as_a_typo() -> None:
    spec = state(desired(home_config("porch")))
    with pytest.raises(TriggerRefused) as refused:
        find_processor(spec, "porch", "eu-west-1")
    assert "did you mean" not in str(refused.value)
