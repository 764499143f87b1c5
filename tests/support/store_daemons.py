"""Two `spd run` daemons in leader mode sharing one lease table and one shared store (each with its own
state directory: two "hosts"), a spec with one connected-home processor, and triggers over HTTP.
Used by tests/e2e/store/test_store_failover.py and tests/bench/bench_store_failover.py."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemonproc import Daemon
from spd.aws.mapping import create_request
from spd.model import STACK_TAG
from spd.spec import load_spec
from spdrun import home, run_spd, write_spec

LEASE_SECONDS = "3"


@dataclass
class Deployment:
    spec: Path
    common: dict[str, str]
    tmp: Path

    def host(self, name: str) -> dict[str, str]:
        return {**self.common, "SPD_STATE_DIR": str(self.tmp / name)}

    def daemon(self, name: str) -> Daemon:
        return Daemon(["--spec", str(self.spec)], env={**self.host(name), "SPD_HA_HOLDER": name})

    def sessions(self, host: str) -> list[dict[str, Any]]:
        out = run_spd(["sessions", str(self.spec), "--output", "json", "--since", "24h"], env=self.host(host))
        assert out.returncode == 0, out.stderr
        return list(json.loads(out.stdout)["sessions"])


def deployment(tmp: Path, emu: Any, *, budget: int, duration: int = 30) -> Deployment:
    spec = write_spec(
        tmp / "spec.yaml",
        [home("porch", sessions={"max_duration_seconds": duration, "budget_seconds_per_day": budget})],
        references=emu,
    )
    for processor in load_spec(spec).desired.processors:
        emu.client().create_stream_processor(**create_request(processor.config, {STACK_TAG: "test-stack"}))
    suffix = uuid.uuid4().hex[:8]
    common = {
        "SPD_ENDPOINT_URL": emu.url,
        "SPD_HA_TABLE": f"spd-leases-{suffix}",
        "SPD_HA_LEASE_SECONDS": LEASE_SECONDS,
        "SPD_STORE_TABLE": f"spd-store-{suffix}",
    }
    return Deployment(spec, common, tmp)


def post(d: Daemon, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(d.http + "/v1/sessions", data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
