"""The bundled sample repository and a recorded session on it.

``prtrace demo`` and the test-suite use them to drive the whole pipeline
without a developer at the keyboard: :func:`make_sample_repo` builds a git
repository with a real bug, :func:`recorded_session` gives the events of a
developer finding and fixing it, and the final patch.
"""

from prtrace.demo.sample import (
    FAIL_TO_PASS,
    TEST_COMMAND,
    TEST_IMAGE,
    make_sample_repo,
    recorded_session,
)

__all__ = ["FAIL_TO_PASS", "TEST_COMMAND", "TEST_IMAGE", "make_sample_repo", "recorded_session"]
