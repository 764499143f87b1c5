"""A password in an endpoint URL never reaches the daemon's output, at debug level included.

`SPD_ENDPOINT_URL` with `user:password@` is refused at start-up (aiohttp would refuse every signed
request anyway). botocore still takes an endpoint from the AWS config file without spd seeing it, and
its debug lines quote that URL on every call: the log pipeline hides the password there.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from daemonproc import Daemon
from spd.daemon.logs import redact_text
from spdrun import face, write_spec

SECRET = "SECRETPASS"


def _everything(d: Daemon) -> str:
    return d.dump() + "".join(d.raw)


def test_a_password_in_spd_endpoint_url_is_refused_without_being_shown(tmp_path, emu):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=emu)
    port = urlsplit(emu.url).port
    d = Daemon(
        ["--spec", str(spec)],
        env={"SPD_ENDPOINT_URL": f"http://spd:{SECRET}@127.0.0.1:{port}", "SPD_LOG_LEVEL": "debug"},
    )
    try:
        assert d.wait() == 78
        assert SECRET not in _everything(d)
        assert [line["event"] for line in d.lines] == ["config_invalid"]
        assert f"SPD_ENDPOINT_URL: 'http://***@127.0.0.1:{port}'" in d.stderr
    finally:
        d.kill()


def test_a_password_in_the_aws_config_endpoint_stays_out_of_debug_logs(tmp_path, emu):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=emu)
    port = urlsplit(emu.url).port
    config = tmp_path / "aws-config"
    config.write_text(f"[default]\nendpoint_url = http://spd:{SECRET}@127.0.0.1:{port}\n")
    d = Daemon(
        ["--spec", str(spec)],
        env={"AWS_CONFIG_FILE": str(config), "SPD_LOG_LEVEL": "debug", "SPD_MAX_ATTEMPTS": "1"},
    )
    try:
        d.wait_for("reconcile_failed")
        assert d.stop() == 0
        out = _everything(d)
        assert SECRET not in out
        # botocore did log the URL, per call, with the password hidden.
        assert any("http://***@127.0.0.1" in raw for raw in d.raw if '"logger": "spd"' not in raw)
        assert all(json.loads(raw) for raw in d.raw)
    finally:
        d.kill()


def test_redact_text_hides_url_passwords():
    line = "Sending http request: <AWSPreparedRequest url=http://spd:" + SECRET + "@127.0.0.1:4566/>"
    assert redact_text(line) == "Sending http request: <AWSPreparedRequest url=http://***@127.0.0.1:4566/>"
