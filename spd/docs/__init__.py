"""The manual's reference pages, generated from the code they describe.

Each table (spec keys, settings, commands, log events, metrics, exit codes, the emulator's control API)
is rendered from its one definition in the code when the site is built (`hook.py`, a MkDocs hook), so
the reference cannot drift from the program. `python -m spd.docs NAME` prints one table.
"""
