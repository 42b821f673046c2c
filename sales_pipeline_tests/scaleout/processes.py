"""Start and stop the long-lived processes a scale-out test needs (daemon, Celery workers).

A process is stopped with everything it started: its descendants are read from ``/proc``
before any signal is sent, because some of them (Dagster's code servers and their run
workers) run in sessions of their own and would outlive a signal to the process group.
"""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

STOP_GRACE_SECONDS = 20.0
"""How long a process tree has to exit after SIGTERM before it is killed."""


def _parent_of(pid: int) -> int | None:
    """The parent process id of ``pid``, or None when it has exited (gone or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (command) state ppid ...": the command may contain spaces and parentheses.
    state, parent = stat.rpartition(")")[2].split()[:2]
    return None if state in ("Z", "X") else int(parent)


def descendants(root: int) -> list[int]:
    """Every living process started, directly or not, by ``root``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _alive(pid: int) -> bool:
    return _parent_of(pid) is not None


def _signal_all(pids: Sequence[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def stop_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM ``process`` and all its descendants, SIGKILL whatever is left after
    :data:`STOP_GRACE_SECONDS`, and reap ``process``."""
    tree = [process.pid, *descendants(process.pid)]
    _signal_all(tree, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and any(_alive(pid) for pid in tree):
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.5)
    _signal_all([pid for pid in tree if _alive(pid)], signal.SIGKILL)
    process.wait(timeout=30)


@contextlib.contextmanager
def running(
    command: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` running in its own session with its output in ``log``, stopped with
    :func:`stop_tree` on exit, whether the block succeeded or not."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop_tree(process)
