"""``python -m remedi ARGS``: the remedi command line, in this interpreter's process."""

import sys

from . import _core


def main() -> int:
    return _core.cli(["remedi", *sys.argv[1:]], [sys.executable, "-m", "remedi"])


if __name__ == "__main__":
    sys.exit(main())
