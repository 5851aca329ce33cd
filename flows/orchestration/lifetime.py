"""Child processes die with the ``digigov`` command, however it dies; Ctrl-C ends it at once.

A command starts processes of its own: the embedded Prefect server, the validation process
(and its forks and helper), the process pool's workers; multiprocessing adds its resource
tracker. Killed with SIGKILL (the OOM killer, ``kill -9``, a CI timeout), the command runs no
exit handler, and each of them would run on for good, holding its memory.

On Linux each child asks the kernel for SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``),
then checks that its parent is still the one that started it (it may have died before the
request; the parent's pid comes in ``DIGIGOV_PARENT_PID``). A spawned child does it as soon as
it imports this package (``flows/__init__.py``), before its imports for the work it was started
for; the server before it executes (``preexec``), a fork first thing (``as_child``: a fork
clears the request). The signal follows the death of the parent *thread* that created the
child: every child here is started by a thread that lives as long as its process (the main
thread, or the worker threads of an executor that stop with the pool they feed). The resource
tracker needs nothing: it exits once every process holding its pipe is gone. Elsewhere than
Linux a watchdog thread polls the parent's pid instead.

Ctrl-C: the terminal sends SIGINT to every process of its foreground group. The command blocks
SIGINT in all its threads before it starts any (``interrupt_exits``), and one thread waits for it
and ends the command in one line; every process it starts inherits the blocked signal, so none
of them prints a KeyboardInterrupt traceback, wherever it is (even starting up), and they go
with the command.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any, Callable

PR_SET_PDEATHSIG = 1
WATCHDOG_SECONDS = 0.5
PARENT_ENV = "DIGIGOV_PARENT_PID"  # the pid a child of a digigov process checks its parent against
INTERRUPT_THREAD = "ctrl-c"  # waits in sigwait, holding no lock: a fork may ignore it

_prctl = None
if sys.platform == "linux":
    import ctypes

    try:  # resolved here, in the parent: a child between fork and exec only calls it
        _prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        _prctl = None


def die_with_parent(parent: int | None = None) -> None:
    """In a child process: be killed when ``parent`` (default: the current parent) dies, and
    leave Ctrl-C to it."""
    parent = os.getppid() if parent is None else parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ[PARENT_ENV] = str(os.getpid())  # for this process's own children
    if _prctl is not None and _prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0:
        if os.getppid() != parent:  # the parent died before the request was made
            os._exit(1)
        return
    threading.Thread(target=_watch, args=(parent,), name="die-with-parent", daemon=True).start()


def spawned_child_set_up() -> None:
    """In a process multiprocessing started: die with the process that started it. That may be
    a process which never imported this package (a Dask nanny), so ``PARENT_ENV`` names an older
    ancestor: the parent counts as gone only when this process was orphaned (adopted by init)."""
    expected = os.environ.get(PARENT_ENV)
    parent = os.getppid()
    if parent == 1 and expected != "1":  # the parent died before this process got here
        os._exit(1)
    die_with_parent(parent)


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCHDOG_SECONDS)
    os._exit(1)


def preexec(parent: int) -> Callable[[], None]:
    """For ``subprocess.Popen(preexec_fn=…)``: the child, before it runs its program, is set to
    die with ``parent`` (the request survives exec). Only async-signal-safe work: no thread."""

    def set_up() -> None:
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if os.getppid() != parent:
                os._exit(1)

    return set_up


def as_child(parent: int, target: Callable[..., Any]) -> Callable[..., Any]:
    """``target`` run in a fork of ``parent``, set to die with it first."""

    def run(*args: Any, **kwargs: Any) -> Any:
        die_with_parent(parent)
        return target(*args, **kwargs)

    return run


def interrupt_exits(message: Callable[[], str], code: int = 130) -> None:
    """Ctrl-C (SIGINT) ends this process at once with one line on stderr: no traceback from
    wherever its threads were, no exit handler talking to a server that is going too. What this
    process wrote stays as a kill would leave it (tables and releases are put in place by one
    rename), and its children die with it. Call before any thread or child is started."""
    os.environ[PARENT_ENV] = str(os.getpid())
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # inherited by every thread and child

    def wait() -> None:
        signal.sigwait({signal.SIGINT})
        try:
            os.write(2, (message() + "\n").encode("utf-8", "replace"))
        finally:
            os._exit(code)

    threading.Thread(target=wait, name=INTERRUPT_THREAD, daemon=True).start()


def quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, its stderr on /dev/null. When the command
    is interrupted or killed, the tracker outlives it by a moment to unlink the semaphores its
    processes left, and warns of each ("There appear to be 13 leaked semaphore objects"): after
    the one line Ctrl-C prints, or on a terminal where nothing runs any more."""
    from multiprocessing import resource_tracker

    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(2)
    try:
        os.dup2(devnull, 2)  # the tracker inherits this process's stderr as it is when it starts
        resource_tracker.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def threads_that_hold_locks() -> int:
    """Threads of this process but the one waiting for Ctrl-C (a fork copies none of them)."""
    return sum(1 for t in threading.enumerate() if t.name != INTERRUPT_THREAD)
