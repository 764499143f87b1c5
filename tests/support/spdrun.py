"""Running the real `spd` command as a subprocess, and writing spec files, for CLI-level tests."""

from __future__ import annotations

import functools
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import forkserver
from spd.emulator.testing import EmulatorControl, EmulatorControlError
from spd.model import OPERATIONS

SPD = [sys.executable, "-m", "spd"]

FAST_SETTINGS = {
    "SPD_POLL_INTERVAL": "0.05",
    "SPD_WAIT_TIMEOUT": "30",
    "SPD_CONCURRENCY": "16",
    "SPD_MAX_ATTEMPTS": "5",
    **{f"SPD_RATE_LIMITS__{op}": "1000" for op in OPERATIONS},
    # Most CLI tests use made-up stream and role ARNs the emulator does not hold; the preflight tests
    # (tests/e2e/cli/test_plan_preflight.py) turn it back on.
    "SPD_PREFLIGHT": "false",
}


SPD_SCRIPT = Path(sys.executable).parent / "spd"
"""The installed `spd` console script (completion scripts call `spd` by name, not `python -m spd`)."""


def script_env(**extra: str) -> dict[str, str]:
    """`spd_env` with the console scripts' folder first on PATH, for shells that run `spd` by name."""
    return spd_env({"PATH": f"{SPD_SCRIPT.parent}{os.pathsep}{os.environ.get('PATH', '')}", **extra})


@functools.cache
def _bash_completion_script() -> Path:
    """`spd completion bash`'s output, printed once per process: every `bash_complete` evaluates the same
    text (tests/e2e/cli/test_completion_names.py holds the command to click's own script)."""
    r = subprocess.run(
        [str(SPD_SCRIPT), "completion", "bash"], env=script_env(), capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    path = Path(tempfile.mkdtemp(prefix="spd-completion-")) / "spd.bash"
    path.write_text(r.stdout)
    return path


def bash_complete(*words: str) -> tuple[list[str], str]:
    """What bash offers for the last of `words` once it has evaluated spd's completion script, as a
    user's shell does (`eval "$(spd completion bash)"`), and bash's stderr; the installed `spd` answers."""
    quoted = " ".join(f"'{w}'" for w in words)
    script = f"""
        set -e
        eval "$(cat '{_bash_completion_script()}')"
        COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMPREPLY=()
        _spd_completion spd
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    env = script_env(PATH=f"{_spd_command_dir()}{os.pathsep}{script_env()['PATH']}")
    r = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [line for line in r.stdout.splitlines() if line], r.stderr


def emulator_command() -> list[str]:
    """`spd emulator` forked from the fork server, for an `EmulatorProcess` whose test is about the
    emulator's state or answers rather than how its process starts (those keep the default command)."""
    return [str(_spd_command_dir() / "spd"), "emulator"]


@functools.cache
def _spd_command_dir() -> Path:
    """A folder holding `spd` as `write_spd_command` writes it, for shells that run `spd` by name."""
    folder = Path(tempfile.mkdtemp(prefix="spd-command-"))
    write_spd_command(folder / "spd")
    return folder


def spd_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPD_", "AWS_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_COLOR": "1",
        }
    )
    env.update(FAST_SETTINGS)
    env.update(extra or {})
    return env


def write_spd_command(path: Path) -> None:
    """An executable `spd` at `path` for shell scripts: forked from the fork server when there is one,
    else `python -m spd`."""
    chosen = forkserver.running()
    if chosen is not None:
        forkserver.write_shim(str(path), chosen.path)
        return
    path.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m spd "$@"\n', encoding="utf-8")
    path.chmod(0o755)


def run_installed(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """The installed `spd ARGS` with exactly `env` (no `spd_env` added), in `cwd`: forked from the fork
    server when it can be, else the console script itself."""
    forked = forkserver.run(args, env=env, timeout=60, input=None, cwd=str(cwd))
    if forked is not None:
        return forked
    return subprocess.run(
        [str(SPD_SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def run_spd(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`spd ARGS` as a process of its own, through the fork server (tests/support/forkserver.py) unless
    its environment needs a real `exec`."""
    environ = spd_env(env)
    forked = forkserver.run(args, env=environ, timeout=timeout, input=input)
    if forked is not None:
        return forked
    # Without input, stdin is closed rather than inherited: a test run from a terminal must never let
    # `spd apply` find a terminal to ask on.
    stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run(
        [*SPD, *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **stdin,  # type: ignore[call-overload]
    )


ACCOUNT = "111122223333"


def face(name: str, *, collection: str = "staff", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "input": {
            "kinesis_video_stream_arn": f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/{name}/1700000000000"
        },
        "face_search": {"collection_id": collection, "face_match_threshold": 85},
        "output": {"kinesis_data_stream_arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}-out"},
        **extra,
    }


def home(name: str, *, labels: Sequence[str] = ("PERSON",), **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "input": {
            "kinesis_video_stream_arn": f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/{name}/1700000000001"
        },
        "connected_home": {"labels": list(labels), "min_confidence": 60},
        "output": {"s3_bucket": "spd-results", "s3_key_prefix": f"{name}/"},
        "notification_channel": {"sns_topic_arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:AmazonRekognitionSpd"},
        "regions_of_interest": [{"bounding_box": {"left": 0.1, "top": 0.1, "width": 0.5, "height": 0.5}}],
        **extra,
    }


def write_spec(
    path: Path,
    processors: Sequence[Mapping[str, Any]],
    *,
    stack: str = "test-stack",
    references: EmulatorControl | None = None,
) -> Path:
    """Write a spec file in the block-style YAML operators write (and spd reads fastest).

    `references`: an emulator in which to create what the spec references (its role, streams,
    collections, ...), so that its processors run there under strict references, the emulator's
    default, as they would in an account set up for them (a spec that does not load creates nothing)."""
    from ruamel.yaml import YAML

    doc = {
        "version": 1,
        "stack": stack,
        "defaults": {"region": "us-east-1", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition"},
        "processors": [dict(p) for p in processors],
    }
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096  # one line per value, as people write ARNs
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)
    if references is not None:
        try:
            references.create_references(spec=path)
        except EmulatorControlError as exc:
            # A spec that does not load (a test of its refusal) references nothing.
            if not (exc.status == 400 and str(exc.body.get("error", "")).startswith("spec ")):
                raise
    return path


def target_face(name: str, account: str, target: str, region: str = "us-east-1") -> dict[str, Any]:
    """A stopped face-search processor of a fleet with targets: its role and ARNs in the target's account."""
    return {
        "name": name,
        "target": target,
        "region": region,
        "role_arn": f"arn:aws:iam::{account}:role/SpdRekognition",
        "input": {"kinesis_video_stream_arn": f"arn:aws:kinesisvideo:{region}:{account}:stream/{name}/1"},
        "face_search": {"collection_id": "staff"},
        "output": {"kinesis_data_stream_arn": f"arn:aws:kinesis:{region}:{account}:stream/{name}-out"},
        "desired_state": "stopped",
    }


def write_targets_spec(
    path: Path,
    targets: Mapping[str, Any],
    processors: Sequence[Mapping[str, Any]],
    *,
    stack: str = "fleet",
    references: EmulatorControl | None = None,
) -> Path:
    """Write a spec with a `targets` block (no defaults: each processor names its own role and region).

    `references`: as `write_spec`'s; each processor's are created in its target's account."""
    from ruamel.yaml import YAML

    doc = {
        "version": 1,
        "stack": stack,
        "targets": dict(targets),
        "processors": [dict(p) for p in processors],
    }
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)
    if references is not None:
        references.create_references(spec=path)
    return path


def wait_status(client: Any, name: str, statuses: set[str], timeout: float = 20) -> str:
    """Poll Describe until the processor is in one of `statuses`; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        status = str(client.describe_stream_processor(Name=name)["Status"])
        if status in statuses:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} is {status}, expected one of {sorted(statuses)}")
        time.sleep(0.05)
