"""The lease's decisions (spd.ha.lease) with times handed in, and the `ha` settings that shape it."""

from __future__ import annotations

from pathlib import Path

import pytest

from spd.config.settings import environment_warnings, load_settings
from spd.errors import SettingsError
from spd.ha.lease import LeaseRecord, LeaseState, LeaseTiming, Role, Step

TIMING = LeaseTiming(12.0)


def _record(version: str, holder: str = "other:1", lease: float = 12.0) -> LeaseRecord:
    return LeaseRecord(holder, version, lease)


def test_timing_renews_every_third_and_stops_a_quarter_before_expiry():
    assert (TIMING.heartbeat, TIMING.margin, TIMING.safe_for) == (4.0, 3.0, 9.0)


def test_a_free_lease_is_acquired_and_a_held_one_waited_for():
    s = LeaseState(TIMING)
    assert s.observe(None, 0.0) is Step.ACQUIRE
    assert s.observe(_record("v1"), 1.0) is Step.WAIT


def test_a_standby_takes_over_only_after_a_whole_lease_of_the_same_version_by_its_own_clock():
    s = LeaseState(TIMING)
    assert s.observe(_record("v1"), 1000.0) is Step.WAIT
    assert s.observe(_record("v1"), 1011.9) is Step.WAIT
    # A renewal restarts the count.
    assert s.observe(_record("v2"), 1011.9) is Step.WAIT
    assert s.observe(_record("v2"), 1023.8) is Step.WAIT
    assert s.observe(_record("v2"), 1023.9) is Step.TAKE_OVER


def test_a_holder_with_a_longer_lease_is_given_its_own_lease():
    s = LeaseState(TIMING)
    s.observe(_record("v1", lease=60.0), 0.0)
    assert s.observe(_record("v1", lease=60.0), 30.0) is Step.WAIT
    assert s.observe(_record("v1", lease=60.0), 60.0) is Step.TAKE_OVER


def test_the_holder_refuses_to_mutate_once_its_last_confirmed_renewal_is_past_the_safe_part():
    s = LeaseState(TIMING)
    assert s.refusal(0.0) == "not the leader (standby)"
    s.won("v1", sent_at=100.0)
    assert s.role is Role.LEADER
    assert s.observe(_record("v1", holder="me:1"), 101.0) is Step.RENEW
    assert s.refusal(108.9) is None
    assert "past the safe 9s" in str(s.refusal(109.0))
    s.won("v2", sent_at=104.0)
    assert s.refusal(109.0) is None
    s.lost()
    assert s.refusal(109.0) == "not the leader (standby)"


def test_ha_settings_from_the_products_variables():
    ha = load_settings(environ={}, ha={"table": "t-1"}).ha
    assert (ha.table, ha.lease_seconds, ha.name, ha.holder, ha.create_table) == (
        "t-1",
        20.0,
        None,
        None,
        True,
    )
    env = {"SPD_HA_TABLE": "spd-leases", "SPD_HA_LEASE_SECONDS": "9", "SPD_HA_NAME": "lobby"}
    ha = load_settings(environ=env).ha
    assert (ha.table, ha.lease_seconds, ha.name) == ("spd-leases", 9.0, "lobby")
    assert environment_warnings(env) == []


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SPD_HA_LEASE_SECONDS": "1"}, "SPD_HA_LEASE_SECONDS: must be between 2 and 600 seconds (got 1)"),
        ({"SPD_HA_LEASE_SECONDS": "601"}, "SPD_HA_LEASE_SECONDS: must be between 2 and 600 seconds"),
        ({"SPD_HA_TABLE": "no spaces"}, "SPD_HA_TABLE: 'no spaces' is not a DynamoDB table name"),
    ],
)
def test_bad_ha_settings_name_the_variable(env, message):
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=env)
    assert message in str(caught.value.diagnostics[0])


def test_bad_ha_settings_in_a_file_are_located(tmp_path: Path):
    path = tmp_path / "settings.yaml"
    path.write_text("interval: 5\nha:\n  table: spd-leases\n  lease_seconds: 0.5\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(path, environ={})
    assert str(caught.value.diagnostics[0]).startswith(f"{path}:4:18: ha.lease_seconds: must be between 2")
