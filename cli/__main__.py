"""`python -m cli ...`: the `reflect` command."""

import sys

from cli.main import main

sys.exit(main())
