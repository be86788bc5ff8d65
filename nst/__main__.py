"""``python -m nst``: see :mod:`nst.cli`."""

import os
import sys

from .cli import main

if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if "tensorflow" in sys.modules:
        # Everything is written and closed; TensorFlow's interpreter teardown
        # only adds a second of waiting, so leave without it.
        os._exit(code)
    sys.exit(code)
