"""``python -m clearance_dev.bench``: see :mod:`clearance_dev.bench.flow`."""

import sys

from clearance_dev.bench.flow import main

sys.exit(main())
