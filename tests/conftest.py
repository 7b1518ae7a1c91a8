"""Shared test settings: hypothesis runs deterministically and without deadlines.

The machines that run the suite are shared and noisy, so no test depends on timing; a derandomized
hypothesis run gives the same examples on every run (set HYPOTHESIS_PROFILE=explore locally to
search with fresh random examples).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
