"""The local Amazon Rekognition stream-processor emulator (`spd emulator`, and `--local` everywhere).

A moto-based implementation of CreateStreamProcessor, Describe, List, Start, Stop, Update, Delete and
the three tagging operations over the real AWS JSON 1.1 protocol, on the same endpoint as moto's other
services, with timed state transitions, the service's errors and quotas, a control API and an optional
state file. The modules, in the order a request meets them:

- `server` - the threaded HTTP server; `embedded` - the in-process one for `--local`;
- `app` - routes a request to the control API, the stream-processor handlers or moto;
- `control` - the `/_emulator/*` control API;
- `responses` - the JSON 1.1 handlers (moto's Rekognition response class, extended);
- `validation` - request constraints; `models` - processors, the state machine, the backend;
- `service` - one emulator's state, settings, faults, statistics and persistence;
- `state` - the state file (SQLite, over `spd.store.sqlite_store`), and converting the JSON of old versions;
- `config`, `errors`, `faults` - settings, wire errors, injected misbehaviour;
- `testing` - `EmulatorProcess`, a real emulator subprocess for tests; `pytest_plugin` - the fixtures
  pytest loads wherever spd is installed; `mock` - stream processors under moto's `mock_aws`.

Submodules are imported explicitly (`from spd.emulator.embedded import embedded_emulator`) so that
importing this package stays free of moto.
"""
