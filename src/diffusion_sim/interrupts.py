"""Ctrl-C during a run: stop at a safe point between steps, never inside compiled code.

A ``KeyboardInterrupt`` raised while a numba-compiled function runs (Python's handler may run in the
middle of the dispatcher's call) surfaces as ``SystemError: CPUDispatcher(...) returned a result with
an exception set``. While :func:`deferred_interrupts` is active, the first SIGINT only sets a flag;
:func:`check`, called between steps (and by the atomic writer before it moves output into place),
raises ``KeyboardInterrupt`` there. A second SIGINT interrupts at once, wherever the program is.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["check", "deferred_interrupts", "interrupt_pending", "is_interrupt"]

_pending = False


def _on_sigint(signum: int, frame: object) -> None:
    """SIGINT while deferred: remember the first, raise on the second."""
    global _pending
    if _pending:
        raise KeyboardInterrupt
    _pending = True


def interrupt_pending() -> bool:
    """Whether a deferred Ctrl-C is waiting for the next safe point."""
    return _pending


def check() -> None:
    """A safe point: raise ``KeyboardInterrupt`` if Ctrl-C was pressed since deferral began."""
    if _pending:
        raise KeyboardInterrupt


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Defer the first SIGINT to the next :func:`check` (or to the end of the block); re-entrant.

    Only the main thread can own signal handlers; elsewhere, and where SIGINT is ignored (a
    background job started with ``nohup``), this does nothing. A Ctrl-C still pending when the block
    ends without an exception is raised there.
    """
    global _pending
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) in (
        signal.SIG_IGN,
        _on_sigint,  # already deferred by an enclosing block, which owns the flag
    ):
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        pending, _pending = _pending, False
    if pending:
        raise KeyboardInterrupt


def is_interrupt(err: BaseException | None) -> bool:
    """Whether ``err`` is, or was caused by, a ``KeyboardInterrupt`` (e.g. a ``SystemError`` from compiled code)."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False
