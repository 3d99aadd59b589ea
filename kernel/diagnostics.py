"""``kill -USR2 <pid>`` writes the stack of every greenthread of a service process to its log.

A nameko service runs its workers, consumers and timers as eventlet greenthreads inside one OS
thread, so a process that is alive but no longer answers (a consumer stuck reconnecting, a
worker waiting on a lock) shows nothing useful to ``py-spy`` or ``faulthandler``: they see the
hub. This walks the live greenlets instead and writes each one's stack to stderr, which is the
service's log. The process goes on running.
"""
from __future__ import annotations

import gc
import os
import signal
import sys
import traceback

import greenlet

STACK_DUMP_SIGNAL = signal.SIGUSR2


def greenthread_stacks() -> str:
    """The stack of every suspended greenlet and of every OS thread, as text."""
    parts = []
    for candidate in gc.get_objects():
        if isinstance(candidate, greenlet.greenlet) and candidate.gr_frame is not None:
            parts.append(f"--- greenthread {candidate!r}\n" + "".join(traceback.format_stack(candidate.gr_frame)))
    for thread_id, frame in sys._current_frames().items():
        parts.append(f"--- OS thread {thread_id}\n" + "".join(traceback.format_stack(frame)))
    return "\n".join(parts)


def _write_stacks(_signum, _frame) -> None:
    # Straight to the file descriptor: a signal handler must not wait on the logging lock
    # that the interrupted code may hold.
    text = f"=== stacks of pid {os.getpid()} (signal {STACK_DUMP_SIGNAL.name}) ===\n{greenthread_stacks()}=== end of stacks ===\n"
    os.write(sys.stderr.fileno(), text.encode("utf-8", "replace"))


def install_stack_dump_signal() -> bool:
    """Make SIGUSR2 dump the stacks. Only the main thread may set a signal handler; anywhere
    else (a test runner's worker thread) this does nothing and answers False."""
    try:
        signal.signal(STACK_DUMP_SIGNAL, _write_stacks)
    except ValueError:
        return False
    return True
