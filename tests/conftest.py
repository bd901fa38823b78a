"""Hypothesis settings shared by every fuzzer in the suite.

Fuzzers (``@pytest.mark.fuzz``) take their budget from the ``fuzz`` profile: bounded in
``make test`` (all of them together stay under two minutes on 2 cores), ``LLMOBS_FUZZ_SCALE``
times longer in ``make fuzz``. A fuzzer writes ``@settings(settings.get_profile("fuzz"))`` and
never fixes ``max_examples`` itself, so the long mode really is longer.
"""

import os

from hypothesis import HealthCheck, settings

_SCALE = float(os.environ.get("LLMOBS_FUZZ_SCALE", "1"))

settings.register_profile(
    "fuzz",
    max_examples=max(int(100 * _SCALE), 1),
    deadline=None,  # wall time on a shared 2-core machine is noise, not a finding
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,  # a failure prints the @reproduce_failure line to paste into a test
)
