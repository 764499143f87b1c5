"""The AWS SDK for JavaScript v3 (`@aws-sdk/client-rekognition`, pinned by tests/e2e/clients/node's
package-lock.json) drives every stream-processor and collection operation against `spd emulator`.

The Node side is tests/e2e/clients/node/rekognition.test.mjs, run with `node --test`; its dependencies are
installed by `npm ci` in that folder (CI does it before the tests). Skipped only when node itself is
missing; without the installed packages the test fails, saying to run `npm ci`.
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
        pytest.fail(f"the Node test's packages are not installed: run `npm ci` in {NODE_DIR}", pytrace=False)
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
