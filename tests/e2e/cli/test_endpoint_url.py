"""Malformed endpoint URLs, from the flag, the settings or the AWS variables: a clean error, never a traceback.

The flag is a usage error (64), the settings and environment variables are settings errors (78); each
message names where the value came from, the value with any password hidden, and what is expected.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spd.cli.app import main
from spd.config.settings import load_settings
from spd.config.urls import endpoint_url_problem, redact_userinfo
from spd.errors import SettingsError
from spdrun import face, run_spd, write_spec

EXPECTED = "expected an http:// or https:// URL with a host"
SECRET = "SECRETPASS"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    return write_spec(tmp_path / "spec.yaml", [face("lobby")])


def _args(command: str, spec: Path) -> list[str]:
    if command == "run":
        return ["run", "--spec", str(spec)]
    if command == "apply":
        return ["apply", str(spec), "--auto-approve"]
    return [command, str(spec)]


def _clean(r, *, code: int) -> str:
    out = r.stdout + r.stderr
    assert r.returncode == code, out
    assert "Traceback" not in out
    assert SECRET not in out
    return r.stderr


@pytest.mark.parametrize("command", ["plan", "apply", "status", "run"])
def test_flag_without_scheme_is_a_usage_error(command, spec):
    r = run_spd([*_args(command, spec), "--endpoint-url", "127.0.0.1:4566"])
    err = _clean(r, code=64)
    assert "--endpoint-url '127.0.0.1:4566'" in err
    assert EXPECTED in err
    assert "did you mean 'http://127.0.0.1:4566'?" in err


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://", "no host"),
        ("https://:4566", "no host"),
        ("http://localhost:99999", "port"),
        ("http://localhost:port", "port"),
        ("ftp://localhost:4566", EXPECTED),
        ("localhost:4566", EXPECTED),
        ("http://bad_host!:4566", "not a valid host"),
        ("http://localhost:4566/?x=1", "no query"),
        (f"http://admin:{SECRET}@127.0.0.1:4566", "***@127.0.0.1:4566"),
        (f"admin:{SECRET}@127.0.0.1:4566", "'***@127.0.0.1:4566'"),
    ],
)
def test_malformed_flag_values_are_usage_errors(url, why, spec, capsys):
    # In-process (the check comes before any I/O); the subprocess tests above cover the real command.
    with pytest.raises(SystemExit) as exit_:
        main(["plan", str(spec), "--endpoint-url", url])
    captured = capsys.readouterr()
    assert exit_.value.code == 64, captured.err
    assert SECRET not in captured.out + captured.err
    assert "--endpoint-url" in captured.err
    assert why in captured.err


@pytest.mark.parametrize("command", ["plan", "apply", "status", "run"])
def test_spd_endpoint_url_without_scheme_is_a_settings_error(command, spec):
    r = run_spd(_args(command, spec), env={"SPD_ENDPOINT_URL": f"u:{SECRET}@127.0.0.1:4566"})
    err = _clean(r, code=78)
    assert f"environment: SPD_ENDPOINT_URL: '***@127.0.0.1:4566': {EXPECTED}" in err
    if command == "run":
        # The daemon also logs it for the journal, redacted the same way.
        logged = [json.loads(line) for line in r.stdout.splitlines()]
        assert [line["event"] for line in logged] == ["config_invalid"]


@pytest.mark.parametrize(
    ("command", "variable"), [("run", "AWS_ENDPOINT_URL_REKOGNITION"), ("plan", "AWS_ENDPOINT_URL")]
)
def test_aws_endpoint_variable_without_scheme_is_a_settings_error(command, variable, spec):
    err = _clean(run_spd(_args(command, spec), env={variable: "127.0.0.1:4566"}), code=78)
    assert f"environment: {variable}: '127.0.0.1:4566': {EXPECTED}" in err


def test_endpoint_url_in_the_settings_file_is_located(tmp_path, spec):
    settings = tmp_path / "settings.yaml"
    settings.write_text("endpoint_url: 'localhost:4566'\n")
    err = _clean(run_spd(["plan", str(spec), "--settings", str(settings)]), code=78)
    assert f"{settings}:1:15: endpoint_url: 'localhost:4566': {EXPECTED}" in err


def test_a_password_in_the_aws_config_endpoint_is_never_printed(tmp_path, spec):
    # botocore reads this one itself (spd does not check it); its errors quote the URL.
    config = tmp_path / "aws-config"
    config.write_text(f"[default]\nendpoint_url = http://admin:{SECRET}@127.0.0.1:9\n")
    r = run_spd(["plan", str(spec)], env={"AWS_CONFIG_FILE": str(config), "SPD_MAX_ATTEMPTS": "1"})
    assert _clean(r, code=1).startswith("error: ListStreamProcessors: ")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4566",
        "https://rekognition.us-east-1.amazonaws.com",
        "http://[::1]:4566/",
        "HTTP://h",
    ],
)
def test_good_urls_pass(url):
    assert endpoint_url_problem(url) is None
    assert load_settings(environ={}, endpoint_url=url).endpoint_url == url


def test_an_empty_setting_means_unset(monkeypatch):
    monkeypatch.setenv("SPD_ENDPOINT_URL", "")
    assert load_settings().endpoint_url is None


def test_aws_variables_are_checked_only_when_botocore_would_use_them():
    bad = {"AWS_ENDPOINT_URL_REKOGNITION": "127.0.0.1:4566"}
    with pytest.raises(SettingsError):
        load_settings(environ=bad)
    # An explicit endpoint or the embedded emulator take precedence; the variable is never read.
    assert load_settings(environ=bad, endpoint_url="http://127.0.0.1:1").endpoint_url
    assert load_settings(environ=bad, local=True).local
    assert load_settings(environ={**bad, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"})
    # The service-specific variable wins over the global one, as in botocore.
    load_settings(environ={"AWS_ENDPOINT_URL_REKOGNITION": "http://127.0.0.1:1", "AWS_ENDPOINT_URL": "junk"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://u:p@h:1/x", "http://***@h:1/x"),
        ("see https://user:p@ss@host/ and 'http://a:b@c'", "see https://***@host/ and 'http://***@c'"),
        ("url=http://h:1/a@b", "url=http://***@b"),
        ("http://h:1/ plain", "http://h:1/ plain"),
        ("mail me@example.com", "mail me@example.com"),
    ],
)
def test_redact_userinfo(text, expected):
    assert redact_userinfo(text) == expected
