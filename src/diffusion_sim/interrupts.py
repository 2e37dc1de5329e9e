"""Ctrl-C during a run: stop at a safe point between steps, never inside compiled code.

A ``KeyboardInterrupt`` raised while a numba-compiled function runs (Python's handler may run in the
middle of the dispatcher's call) surfaces as ``SystemError: CPUDispatcher(...) returned a result with
an exception set``. While :func:`deferred_interrupts` is active, the first SIGINT only sets a flag;
:func:`check`, called between steps (and by the atomic writer before it moves output into place),
raises ``KeyboardInterrupt`` there. A second SIGINT interrupts at once, wherever the program is.

Python ignores (prints and drops) an exception raised in a weakref callback or a ``__del__``; a Ctrl-C
that lands there, for example during an import, would be lost and the command would finish as if
nothing happened. The command line therefore runs inside :func:`remember_interrupts`: such a dropped
interrupt is remembered, and :func:`check` (and the command's end) raise it again.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

__all__ = ["check", "deferred_interrupts", "interrupt_pending", "is_interrupt", "remember_interrupts"]

_pending = False
_seen = False  # Python dropped a KeyboardInterrupt (see remember_interrupts)


@contextlib.contextmanager
def remember_interrupts() -> Iterator[None]:
    """Within the block, a ``KeyboardInterrupt`` that Python drops is remembered, not printed.

    Python passes an exception it cannot raise (in a weakref callback, a ``__del__``, a finaliser) to
    ``sys.unraisablehook``, which prints it and goes on. For a ``KeyboardInterrupt`` this hook instead
    sets a flag that the next :func:`check` raises; other exceptions go to the previous hook.
    """
    global _seen
    previous, _seen = sys.unraisablehook, False

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        global _seen
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            _seen = True
        else:
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook, _seen = previous, False


def _on_sigint(signum: int, frame: object) -> None:
    """SIGINT while deferred: remember the first, raise on the second."""
    global _pending
    if _pending:
        raise KeyboardInterrupt
    _pending = True


def interrupt_pending() -> bool:
    """Whether a Ctrl-C is waiting for the next safe point (deferred, or raised and dropped by Python)."""
    return _pending or _seen


def check() -> None:
    """A safe point: raise ``KeyboardInterrupt`` if Ctrl-C was pressed (and not yet acted on)."""
    if _pending or _seen:
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
