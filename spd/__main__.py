"""`python -m spd` runs the command line, like the `spd` console script."""

from spd.cli import main

main()
