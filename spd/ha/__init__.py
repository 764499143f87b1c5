"""High availability: the lease protocol two daemons share (decisions only, no I/O)."""
