"""One self-test worker: ``python -m autograder.selftest --out FILE CATEGORY...``."""

import sys

from .runner import main

sys.exit(main())
