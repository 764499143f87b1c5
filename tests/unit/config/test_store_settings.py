"""The `store` block and `ha.mode`: their variables, their defaults, and shards' need for both tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from spd.config.settings import load_settings
from spd.errors import SettingsError


def test_defaults_are_one_host_and_one_leader() -> None:
    settings = load_settings(environ={})
    assert settings.store.table is None
    assert settings.ha.mode == "leader"


def test_store_variables_set_the_block() -> None:
    settings = load_settings(
        environ={
            "SPD_STORE_TABLE": "spd-store",
            "SPD_STORE_REGION": "eu-west-1",
            "SPD_STORE_CREATE_TABLE": "false",
        }
    )
    assert (settings.store.table, settings.store.region, settings.store.create_table) == (
        "spd-store",
        "eu-west-1",
        False,
    )


def test_a_bad_store_table_names_its_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"SPD_STORE_TABLE": "x"})
    assert "SPD_STORE_TABLE" in str(caught.value)


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({"SPD_HA_MODE": "shards"}, "ha.table and store.table"),
        ({"SPD_HA_MODE": "shards", "SPD_HA_TABLE": "leases"}, "store.table"),
        ({"SPD_HA_MODE": "shards", "SPD_STORE_TABLE": "spd-store"}, "ha.table"),
    ],
)
def test_shards_need_both_tables(environ: dict[str, str], missing: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    assert f"shards needs {missing} " in str(caught.value)
    assert "SPD_HA_MODE" in str(caught.value)


def test_shards_in_a_file_are_located(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("ha:\n  table: leases\n  mode: shards\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(path, environ={})
    assert str(caught.value).startswith(f"{path}:3:9: ha.mode: shards needs store.table")


def test_shards_with_both_tables() -> None:
    settings = load_settings(
        environ={"SPD_HA_MODE": "shards", "SPD_HA_TABLE": "leases", "SPD_STORE_TABLE": "spd-store"}
    )
    assert settings.ha.mode == "shards"
