"""Operational settings and their parts: event sinks, secret files, endpoint URLs."""
