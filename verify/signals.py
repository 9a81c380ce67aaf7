"""How ``ldyn`` ends: every error on exactly one line, and Ctrl-C / SIGTERM raised in the main thread so that
every ``finally`` runs (atomic writes leave no partial file) and the command ends with one line and exit 130 /
143, worker processes stopped (used by the command line's ``main``)."""
from __future__ import annotations

import contextlib
import signal
import sys
import threading


def _error_line(text: str) -> None:
    """Print ``text`` as exactly one line on stderr: whitespace (newlines included) collapsed, and on a
    line of its own even when a progress bar was left unfinished on stderr."""
    experiments = sys.modules.get("verify.experiments")  # the progress bars live there (not imported here)
    if experiments is not None and hasattr(experiments, "end_progress_line"):
        experiments.end_progress_line()
    try:
        sys.stderr.write(" ".join(str(text).split()) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so that every ``finally`` runs (no partial file)."""


#: pid of the process whose ``main`` installed the handlers; state of the interruption
_SIGNALS = {"pid": None, "seen": None, "again": None}


def _stop_children() -> None:
    """Terminate the worker processes of this process (process pools), if multiprocessing is in use."""
    mp = sys.modules.get("multiprocessing")
    if mp is None:
        return
    try:
        for child in mp.active_children():
            child.terminate()
    except Exception:  # noqa: BLE001 - best effort while stopping
        pass


def _on_signal(signum, frame):
    import os

    if os.getpid() != _SIGNALS["pid"]:  # a forked worker inherited this handler: its parent ends it
        if signum == signal.SIGINT:
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    if _SIGNALS["seen"] and not _SIGNALS["again"]:  # a second signal while stopping: stop now
        _stop_children()
        text = "ldyn: interrupted" if signum == signal.SIGINT else "ldyn: terminated"
        try:
            _error_line(text)
        except Exception:  # noqa: BLE001 - e.g. a reentrant write on stderr
            os.write(2, text.encode() + b"\n")
        os._exit(130 if signum == signal.SIGINT else 143)
    # worker pools stop cleanly as the exception unwinds (numeric.sweep.pool)
    _SIGNALS["seen"], _SIGNALS["again"] = KeyboardInterrupt if signum == signal.SIGINT else _Terminated, None
    raise _SIGNALS["seen"]


@contextlib.contextmanager
def _signal_handlers():
    """Ctrl-C (SIGINT) and SIGTERM raise in the main thread (exit 130 / 143 with one line, see ``main``);
    the previous handlers come back afterwards (``main`` also runs inside tests)."""
    import os

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous_hook = sys.unraisablehook

    def unraisable(hook_args):  # the interruption landed where Python cannot raise (an at-fork callback,
        seen = _SIGNALS["seen"]  # a __del__): no "Exception ignored" message; signal again 50 ms later
        if seen is not None and isinstance(hook_args.exc_value, KeyboardInterrupt) and os.getpid() == _SIGNALS["pid"]:
            again = _SIGNALS["again"] = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM if seen is
                                                                        _Terminated else signal.SIGINT))
            again.daemon = True
            again.start()
            return
        previous_hook(hook_args)

    _SIGNALS.update(pid=os.getpid(), seen=None, again=None)
    for sig in previous:
        signal.signal(sig, _on_signal)
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        if _SIGNALS["again"] is not None:
            _SIGNALS["again"].cancel()
        sys.unraisablehook = previous_hook
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _ignore_late_signals() -> None:
    """Once ``main`` has decided to end with 130 / 143: ignore further SIGINT / SIGTERM (a second Ctrl-C, or the
    re-sent signal of an interruption that first landed where Python cannot raise) so that a signal arriving while
    the interpreter shuts down cannot end the process by that signal instead (exit -2, a traceback)."""
    if threading.current_thread() is not threading.main_thread():
        return
    again = _SIGNALS.get("again")
    if again is not None:
        again.cancel()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def _raise_if_interrupted() -> None:
    """A failure that follows Ctrl-C / SIGTERM (a library turned the KeyboardInterrupt into an error) is
    the interruption, not an internal error."""
    if _SIGNALS["seen"]:
        raise _SIGNALS["seen"]() from None
