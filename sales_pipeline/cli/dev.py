"""``sales-pipeline dev``: the sandbox and ``dagster dev`` on it, quiet and easy to stop.

- **Quiet.** Dagster marks beta and preview APIs, and superseded commands, with warnings that
  every process it starts (webserver, daemon, code servers, run workers) prints again: about
  190 lines on a start. They are notices to Dagster's own users, not problems of this project,
  so ``dev`` drops them from the output (``--verbose`` keeps them), as ``demo`` filters them
  in-process. Everything else passes through unchanged. Python's ``PYTHONWARNINGS`` cannot
  name these categories (it only accepts warning classes already imported at start-up), hence a
  filter on the output.
- **No stray folders.** The shipped instance files disable the UI's first-visit dialog (no
  ``.nux/``) and telemetry; :data:`NO_TELEMETRY` keeps the upload thread from creating its
  folders.
- **Stoppable.** ``dagster dev`` runs in a process group of its own; SIGTERM or SIGINT to
  ``dev`` is passed to that whole group (webserver, daemon, code servers, run workers), and
  whatever still runs after :data:`STOP_TIMEOUT_S` is killed, so nothing outlives ``dev``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

import yaml

CODE_LOCATION = "sales_pipeline"
"""The code location's name wherever it is loaded (``workspace.yaml`` names it the same)."""

STOP_TIMEOUT_S = 30.0
"""How long ``dagster dev`` may take to stop after the signal before its group is killed."""

NO_TELEMETRY = {"DAGSTER_DISABLE_TELEMETRY": "1"}
"""Dagster's webserver and daemon start a telemetry upload thread that creates ``logs/`` and
``.logs_queue/`` in ``DAGSTER_HOME`` (the repository root here) even when the instance disables
telemetry; this variable stops the thread, so ``dev`` leaves no stray folder."""

NOTICE = re.compile(r"^\S.*:\d+: (BetaWarning|PreviewWarning|SupersessionWarning): ")
"""The first line of a warning Dagster prints about its own beta, preview or superseded APIs."""


def without_notices(lines: Iterable[str]) -> Iterator[str]:
    """``lines`` without Dagster's beta, preview and supersession warnings: each warning's line
    and the indented source lines Python prints under it are dropped."""
    in_notice = False
    for line in lines:
        if NOTICE.match(line):
            in_notice = True
            continue
        if in_notice and line.startswith((" ", "\t")):
            continue
        in_notice = False
        yield line


def write_workspace(home: Path) -> Path:
    """A workspace file in ``home`` that loads :mod:`sales_pipeline.definitions` as the
    ``sales_pipeline`` code location (``dagster dev -m`` would name it after the module)."""
    workspace = home / "workspace.yaml"
    location = {
        "module_name": "sales_pipeline.definitions",
        "location_name": CODE_LOCATION,
        "working_directory": str(Path.cwd()),
    }
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": location}]}))
    return workspace


def _stop(child: subprocess.Popen[str], signum: int) -> None:
    """Pass ``signum`` to the child's process group; kill the group if it outlives the wait."""
    try:
        os.killpg(child.pid, signum)
        child.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def supervise(
    command: Sequence[str], env: Mapping[str, str], out: TextIO, *, verbose: bool = False
) -> int:
    """Run ``command`` in a new process group, copy its output to ``out`` (without Dagster's
    notices unless ``verbose``), and stop the whole group on SIGTERM or SIGINT; its exit
    code (0 when stopped by a signal)."""
    child = subprocess.Popen(  # noqa: S603 - our own command line
        list(command),
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    stopped_by: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        stopped_by.append(signum)
        _stop(child, signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        assert child.stdout is not None
        lines: Iterable[str] = child.stdout if verbose else without_notices(child.stdout)
        for line in lines:
            out.write(line)
            out.flush()
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if child.poll() is None:
            _stop(child, signal.SIGTERM)
    return 0 if stopped_by else code


def run_dev(port: int, contacts: int, faults: str, *, verbose: bool = False) -> int:
    """Serve the sandbox in-process and ``dagster dev`` (webserver and daemon) on ``port``,
    pointed at it, until interrupted or terminated."""
    from sales_pipeline.cli.demo import sandbox_environment
    from sales_pipeline.sandbox import SandboxConfig, run_sandbox
    from sales_pipeline.settings import load_settings

    home = load_settings().pipeline_home
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    with run_sandbox(SandboxConfig(contacts=contacts, faults=faults)) as handle:
        print(
            f"sandbox serving on {handle.base_url}; Dagster UI on http://127.0.0.1:{port}",
            flush=True,
        )
        workspace = write_workspace(home)
        command = [sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-p", str(port)]
        env = {**os.environ, **sandbox_environment(handle, home), **NO_TELEMETRY}
        if Path("dagster.yaml").is_file():
            env["DAGSTER_HOME"] = str(Path.cwd())  # the repository's instance: queue, pools
        return supervise(command, env, sys.stdout, verbose=verbose)
