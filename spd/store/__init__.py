"""Local persistence: where state files live and the SQLite layer over them."""
