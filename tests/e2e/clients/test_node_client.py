"""The AWS SDK for JavaScript v3 (`@aws-sdk/client-rekognition`, pinned by tests/e2e/clients/node's
package-lock.json) drives every stream-processor and collection operation against `spd emulator`.

The Node side is tests/e2e/clients/node/rekognition.test.mjs, run with `node --test`; its dependencies are
installed by `npm ci` in that folder: `.ci/run` does it before the tests, and this test does it itself on a
checkout where nobody has (so the README's test command works on a fresh machine). Skipped only when node
itself is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from spd.emulator.testing import EmulatorProcess

NODE_DIR = Path(__file__).parent / "node"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (Node.js 18+)")


def test_the_javascript_sdk_drives_every_operation(spd_command_emulator: EmulatorProcess) -> None:
    if not (NODE_DIR / "node_modules" / "@aws-sdk" / "client-rekognition").is_dir():
        installed = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert installed.returncode == 0, f"npm ci in {NODE_DIR} failed:\n{installed.stderr}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["EMULATOR_URL"] = spd_command_emulator.url
    result = subprocess.run(
        ["node", "--test", "rekognition.test.mjs"],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout, result.stdout
    assert "# pass 5" in result.stdout, result.stdout
