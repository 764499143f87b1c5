"""The emulator's HTTP front: WSGI app, server, control API, wire responses, paging."""
