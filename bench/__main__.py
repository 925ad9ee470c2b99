"""`python -m bench`: see bench/__init__.py for what it measures."""

import sys

from bench.measurement import main

sys.exit(main())
