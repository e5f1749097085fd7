"""``python -m clearance_dev.demo``: see :mod:`clearance_dev.demo.flow`."""

import sys

from clearance_dev.demo.flow import main

sys.exit(main())
