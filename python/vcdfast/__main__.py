"""`python -m vcdfast` runs the command line (as the `vcdfast` script does)."""

import sys

from vcdfast.cli import main

sys.exit(main())
