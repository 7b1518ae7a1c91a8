"""``python -m viz``: the command line of :mod:`viz.cli`."""

from .cli import main

raise SystemExit(main())
