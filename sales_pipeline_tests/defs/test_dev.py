"""`sales-pipeline dev`: Dagster's notices dropped, and its whole process group stopped."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from sales_pipeline.cli.dev import without_notices

CHILD = (
    "import subprocess, sys, time;"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']);"
    "print('ready', flush=True); time.sleep(600)"
)
"""A child that starts a grandchild, both sleeping for ten minutes (as `dagster dev` starts a
webserver and a daemon)."""
SUPERVISOR = f"""
import sys
from sales_pipeline.cli.dev import supervise
raise SystemExit(supervise([sys.executable, "-c", {CHILD!r}], {{}}, sys.stdout))
"""


def test_dagsters_beta_and_preview_notices_are_dropped_with_their_source_lines() -> None:
    lines = [
        "/x/decorator_utils.py:232: BetaWarning: Parameter `backfill_policy` is in beta.\n",
        "  return fn(*args, **kwargs)\n",
        "/x/asset_check_decorator.py:220: PreviewWarning: partitions_def is in preview.\n",
        "  spec = AssetCheckSpec(\n",
        "/x/core.py:911: SupersessionWarning: Function is superseded.\n",
        "  return callback(*args, **kwargs)\n",
        "2026-12-03 08:25:20 - dagster - INFO - Launching Dagster services...\n",
        "/x/frame.py:10: FutureWarning: a pandas change\n",
        "  df.apply(f)\n",
    ]

    assert list(without_notices(lines)) == lines[6:]


def _alive(pid: str) -> bool:
    """Whether process ``pid`` runs (a zombie waiting for its parent's wait does not)."""
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _pgrep(*options: str) -> list[str]:
    found = subprocess.run(["pgrep", *options], capture_output=True, text=True, check=False)
    return found.stdout.split()


def test_sigterm_stops_the_child_and_everything_it_started() -> None:
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR], stdout=subprocess.PIPE, text=True
    )
    assert supervisor.stdout is not None
    assert supervisor.stdout.readline() == "ready\n"
    (child,) = _pgrep("-P", str(supervisor.pid))
    group = _pgrep("-g", child)  # its own process group: the child and the grandchild
    assert len(group) == 2

    supervisor.send_signal(signal.SIGTERM)

    assert supervisor.wait(timeout=60) == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in group if _alive(pid)]
