"""``python -m nst``: the command line lives in the app shell, :mod:`studio.cli`.

This file is only the doorway; no module of the engine core imports it.
"""

import os
import sys

from studio.cli import main

if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if "tensorflow" in sys.modules:
        # Everything is written and closed; TensorFlow's interpreter teardown
        # only adds a second of waiting, so leave without it.
        os._exit(code)
    sys.exit(code)
