"""``python -m nst`` and the installed ``nst`` command: the command line lives in the app shell, :mod:`studio.cli`.

This file is only the doorway; no module of the engine core imports it.
"""

import os
import sys

from studio.cli import main


def run() -> None:
    """The command line, then exit (the installed ``nst`` command runs this too)."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if "tensorflow" in sys.modules:
        # Everything is written and closed; TensorFlow's interpreter teardown
        # only adds a second of waiting, so leave without it.
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
