"""`python -m clearance.cli ...`: the deploy pipeline's CodeBuild runs the code bundle this way."""

import sys

from clearance.cli import main

sys.exit(main())
