"""`python -m bot` is the same as the `careloop` command."""

import sys

from bot.cli import main

sys.exit(main())
