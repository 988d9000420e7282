"""`python -m careloop.bot` is the same as the `careloop` command."""

import sys

from careloop.bot.cli import main

sys.exit(main())
