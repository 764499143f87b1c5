"""The emulator's HTTP server: werkzeug's threaded WSGI server with moto's request handler.

One thread per connection, so slow (latency-injected) calls do not hold up others. Responses are
HTTP/1.1, but werkzeug closes every connection after its response (it cannot drain a request body
safely for keep-alive), so clients reconnect per call; the throughput benchmark includes that cost. `EmulatorServer` binds at construction (so port 0 is
resolved and the URL is known before serving) and serves on a background thread.

Used by `spd emulator` (`spd.emulator.command`) and `spd.emulator.embedded`.
"""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, make_server

from spd.emulator.backend.service import Emulator
from spd.emulator.http.app import EmulatorApplication
from spd.emulator.moto_services.moto_glue import MotoRequestHandler

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
"""The customary local-AWS port, so existing `AWS_ENDPOINT_URL=http://localhost:4566` setups work."""


class _RequestHandler(MotoRequestHandler):
    # Declared here so werkzeug does not set it on moto's class.
    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The emulator logs each call itself (operation, region, processor, status).
        return None


class EmulatorServer:
    """A bound, not yet serving, HTTP server for one `Emulator`."""

    def __init__(self, emulator: Emulator, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.emulator = emulator
        try:
            self._server: BaseWSGIServer = make_server(
                host, port, EmulatorApplication(emulator), threaded=True, request_handler=_RequestHandler
            )
        except SystemExit as exc:
            # werkzeug reports a failed bind on stderr and calls sys.exit(1); a library must raise instead.
            raise OSError(f"cannot listen on {host}:{port}") from exc
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Serve on a daemon thread until `stop`."""
        # A short poll interval keeps `stop` quick: shutdown waits for the serving loop's next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="spd-emulator",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests, close the socket and save the state."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self.emulator.persist()
