"""``python -m demos``: every walk-through of the course, in order, then a summary table."""

from .common import main

if __name__ == "__main__":
    raise SystemExit(main())
