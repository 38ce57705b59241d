"""Progress reporting and cancellation shared by every long-running function.

A function that takes ``progress`` calls it as ``progress(fraction, message)`` with
``fraction`` in [0, 1]; one that takes ``cancel`` calls it between stages and stops with
:class:`~VoxelRearrangementLib._shared.errors.Cancelled` when it returns True.
"""
from __future__ import annotations

from typing import Callable, Optional

from .errors import Cancelled

ProgressCallback = Callable[[float, str], None]
CancelCallback = Callable[[], bool]


class Stage:
    """Maps the progress of a sub-task onto the span [start, end] of its parent's progress."""

    def __init__(self, progress: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelCallback] = None,
                 start: float = 0.0, end: float = 1.0) -> None:
        self._progress = progress
        self._cancel = cancel
        self.start = start
        self.end = end

    def report(self, fraction: float, message: str) -> None:
        """Report ``fraction`` (0..1) of this stage done; checks for cancellation first."""
        self.check_cancel()
        if self._progress is not None:
            f = min(max(fraction, 0.0), 1.0)
            self._progress(self.start + f * (self.end - self.start), message)

    def check_cancel(self) -> None:
        """Raise :class:`Cancelled` if the caller asked to stop."""
        if self._cancel is not None and self._cancel():
            raise Cancelled("cancelled by the user")

    def silent(self, stop: Optional[CancelCallback] = None) -> "Stage":
        """This stage's cancellation without its progress (for work in another thread, whose
        progress the caller reports); ``stop()`` returning True also stops it (the caller no
        longer needs the work)."""
        if stop is None:
            return Stage(None, self._cancel, self.start, self.end)
        user = self._cancel
        return Stage(None, lambda: bool(stop()) or (user is not None and user()), self.start, self.end)

    def sub(self, start: float, end: float) -> "Stage":
        """A child stage covering [start, end] (fractions of this stage)."""
        span = self.end - self.start
        return Stage(self._progress, self._cancel,
                     self.start + start * span, self.start + end * span)
