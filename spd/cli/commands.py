"""The commands of `spd`: where each one lives and its one-line help, loaded only when it runs.

The help strings are the first paragraph of each command's docstring; `spd --help` lists them without
importing the commands (tests/e2e/cli/test_cli_startup.py keeps the two in step).
"""

from spd.cli.lazy import LazyCommand

COMMANDS: dict[str, LazyCommand] = {
    "apply": LazyCommand(
        "spd.cli.reconcile_cmd:apply_command", "Plan, confirm, and make the live service match the spec."
    ),
    "check": LazyCommand(
        "spd.cli.check_cmd:check_command",
        "Check that the resources the spec's processors reference exist and are usable (read-only).",
    ),
    "completion": LazyCommand(
        "spd.cli.completion_cmd:completion_command",
        "Print the shell completion script for bash, zsh or fish.",
    ),
    "emulator": LazyCommand(
        "spd.emulator.command:emulator_command",
        "Serve the local Rekognition stream-processor emulator (plus moto's other services).",
    ),
    "history": LazyCommand(
        "spd.cli.history_cmd:history_command",
        "List the drift and action events the daemon recorded for the spec's stack, oldest first.",
    ),
    "iam-policy": LazyCommand(
        "spd.cli.iam_cmd:iam_policy_command",
        "Print a least-privilege IAM policy (JSON) for the spec's processors.",
    ),
    "import": LazyCommand(
        "spd.cli.import_cmd:import_command",
        "Write a spec describing the processors that already exist in the regions.",
    ),
    "plan": LazyCommand(
        "spd.cli.reconcile_cmd:plan_command", "Read the live service and print what `apply` would do."
    ),
    "run": LazyCommand(
        "spd.cli.run_cmd:run_command", "Run the daemon: keep the live fleet equal to the spec until SIGTERM."
    ),
    "schema": LazyCommand("spd.cli.validate_cmd:schema_command", "Print the JSON Schema of a spec file."),
    "session": LazyCommand(
        "spd.cli.session_cmd:session_group",
        "Run a connected-home session now: `spd session start SPEC NAME`.",
    ),
    "sessions": LazyCommand(
        "spd.cli.session_cmd:sessions_command",
        "List the spec's sessions from the ledger: trigger, outcome, requested and processed seconds, labels.",
    ),
    "status": LazyCommand(
        "spd.cli.reconcile_cmd:status_command",
        "Table of every processor in the spec's regions: status, owner, drift.",
    ),
    "store": LazyCommand(
        "spd.cli.store_cmd:store_group",
        "The shared store (store.table): `spd store copy SPEC` fills it from this host's SQLite files.",
    ),
    "validate": LazyCommand(
        "spd.cli.validate_cmd:validate_command",
        "Check SPEC (a file, or a directory of *.yaml files) offline; print every problem found.",
    ),
}
