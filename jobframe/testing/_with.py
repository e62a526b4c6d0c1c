"""Telling ``jobs.assert_enqueued_jobs(2)`` from ``with jobs.assert_enqueued_jobs(2): ...``.

Rails tells the two apart by the block. Python has no block argument, so the helper looks at the
caller's next bytecode instruction: a ``with`` statement enters its context right after the call
(``BEFORE_WITH`` on 3.11-3.13, ``COPY`` + ``LOAD_SPECIAL`` on 3.14+).
"""

from __future__ import annotations

import bisect
import dis
import sys
from functools import lru_cache
from types import CodeType


@lru_cache(maxsize=512)
def _instructions(code: CodeType) -> tuple[list[int], list[str]]:
    real = [i for i in dis.get_instructions(code) if i.opname != "CACHE"]
    return [i.offset for i in real], [i.opname for i in real]


def called_by_with(depth: int = 2) -> bool:
    """True when the call ``depth`` frames up is the expression of a ``with`` statement."""
    frame = sys._getframe(depth)
    offsets, names = _instructions(frame.f_code)
    index = bisect.bisect_right(offsets, frame.f_lasti)
    following = names[index : index + 2]
    return bool(following) and (
        following[0] in {"BEFORE_WITH", "SETUP_WITH"} or following == ["COPY", "LOAD_SPECIAL"]
    )
