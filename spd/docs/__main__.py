"""`python -m spd.docs NAME`: print one generated reference table (no NAME: list the names)."""

from __future__ import annotations

import sys

from spd.docs.reference import GENERATORS, UnknownReference, render


def main(argv: list[str]) -> int:
    if not argv:
        print("\n".join(GENERATORS))
        return 0
    try:
        for name in argv:
            print(render(name))
    except UnknownReference as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
