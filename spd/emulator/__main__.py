"""`python -m spd.emulator [--host H] [--port P] [--state FILE] [--quiet]`: same as `spd emulator`."""

from spd.emulator.command import emulator_command

if __name__ == "__main__":
    emulator_command.main(prog_name="python -m spd.emulator")
