"""Runnable walk-throughs of tinygrad-edu: ``python -m demos``."""
