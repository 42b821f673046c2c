"""The ``sales-pipeline`` command line."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from sales_pipeline.cli import backlog
from sales_pipeline.sandbox import Credentials, SandboxConfig, SandboxOptions, run_sandbox, serve


def _add_sandbox_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    defaults = Credentials()
    parser = subparsers.add_parser(
        "sandbox",
        help="serve the local emulation of HubSpot, Explorium and Lemlist",
        description="Serve the sandbox APIs; prints the base URLs and accepted credentials.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7, help="same seed, same world")
    parser.add_argument("--contacts", type=int, default=5000, help="HubSpot contacts to generate")
    parser.add_argument(
        "--bulk-import",
        type=int,
        default=0,
        help="extra contacts sharing one modification time (a bulk-import day)",
    )
    parser.add_argument("--match-rate", type=float, default=0.75, help="share Explorium knows")
    parser.add_argument(
        "--faults", default="none", help="none, mild, harsh, or a YAML/JSON profile path"
    )
    parser.add_argument("--rate-scale", type=float, default=1.0, help="multiplies every limit")
    parser.add_argument("--no-limits", action="store_true", help="switch rate limits off")
    parser.add_argument("--explorium-credits", type=int, default=1_000_000)
    parser.add_argument("--hubspot-token", default=defaults.hubspot_token)
    parser.add_argument("--hubspot-client-id", default=defaults.hubspot_client_id)
    parser.add_argument("--hubspot-client-secret", default=defaults.hubspot_client_secret)
    parser.add_argument("--explorium-key", default=defaults.explorium_key)
    parser.add_argument("--lemlist-key", default=defaults.lemlist_key)


def _run_sandbox(args: argparse.Namespace) -> int:
    serve(
        SandboxConfig(
            host=args.host,
            port=args.port,
            seed=args.seed,
            contacts=args.contacts,
            bulk_import=args.bulk_import,
            match_rate=args.match_rate,
            faults=args.faults,
            rate_scale=args.rate_scale,
            limits_enabled=not args.no_limits,
            credentials=Credentials(
                hubspot_token=args.hubspot_token,
                hubspot_client_id=args.hubspot_client_id,
                hubspot_client_secret=args.hubspot_client_secret,
                explorium_key=args.explorium_key,
                lemlist_key=args.lemlist_key,
            ),
            options=SandboxOptions(explorium_credits=args.explorium_credits),
        )
    )
    return 0


def _add_demo_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline against an in-process sandbox and print a summary",
        description="Materialize every asset for the most recent partitions against the "
        "sandbox, with a local SQLite Dagster instance under .sales_pipeline_home.",
    )
    parser.add_argument("--days", type=int, default=7, help="recent daily partitions to run")
    parser.add_argument("--contacts", type=int, default=5000, help="sandbox HubSpot contacts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--faults", default="none", help="none, mild, harsh or a profile path")
    parser.add_argument("--json", type=Path, help="also write the summary as JSON to this path")


def _run_demo(args: argparse.Namespace) -> int:
    import warnings

    from dagster import BetaWarning, PreviewWarning

    warnings.filterwarnings("ignore", category=BetaWarning)
    warnings.filterwarnings("ignore", category=PreviewWarning)
    from sales_pipeline.cli.demo import run_demo, write_summary

    summary = run_demo(
        days=args.days,
        sandbox=SandboxConfig(contacts=args.contacts, seed=args.seed, faults=args.faults),
    )
    if args.json:
        write_summary(summary, args.json)
    return 0 if summary["failed_partitions"] == [] else 1


def _add_dev_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dev",
        help="serve the sandbox and the Dagster UI on it",
        description="Start the sandbox, then `dagster dev` with the pipeline pointed at it.",
    )
    parser.add_argument("--port", type=int, default=3000, help="Dagster UI port")
    parser.add_argument("--contacts", type=int, default=5000, help="sandbox HubSpot contacts")
    parser.add_argument("--faults", default="none", help="none, mild, harsh or a profile path")


CODE_LOCATION = "sales_pipeline"
"""The code location's name wherever it is loaded (``workspace.yaml`` names it the same)."""


def _write_workspace(home: Path) -> Path:
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


def _run_dev(args: argparse.Namespace) -> int:
    from sales_pipeline.cli.demo import sandbox_environment
    from sales_pipeline.settings import load_settings

    home = load_settings().pipeline_home
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    with run_sandbox(SandboxConfig(contacts=args.contacts, faults=args.faults)) as handle:
        print(f"sandbox serving on {handle.base_url}; Dagster UI on http://127.0.0.1:{args.port}")
        workspace = _write_workspace(home)
        command = [sys.executable, "-m", "dagster", "dev", "-w", str(workspace)]
        env = {**os.environ, **sandbox_environment(handle, home)}
        if Path("dagster.yaml").is_file():
            env["DAGSTER_HOME"] = str(Path.cwd())  # the repository's instance: queue, pools
        try:
            return subprocess.call([*command, "-p", str(args.port)], env=env)  # noqa: S603
        except KeyboardInterrupt:
            return 0


def _run_doctor(args: argparse.Namespace) -> int:
    from sales_pipeline.cli.doctor import run_doctor
    from sales_pipeline.settings import load_settings

    return run_doctor(load_settings())


def _run_backlog(args: argparse.Namespace) -> int:
    from sales_pipeline.settings import load_settings

    return backlog.run(args, load_settings())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sales-pipeline`` console script."""
    parser = argparse.ArgumentParser(prog="sales-pipeline", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_sandbox_parser(subparsers)
    _add_demo_parser(subparsers)
    _add_dev_parser(subparsers)
    subparsers.add_parser(
        "doctor",
        help="check every configured API, the store and the rate limiter",
        description="One line per check; non-zero exit on any failure; never prints a secret.",
    )
    backlog.add_parser(subparsers)
    args = parser.parse_args(argv)
    commands = {
        "sandbox": _run_sandbox,
        "demo": _run_demo,
        "dev": _run_dev,
        "doctor": _run_doctor,
        "backlog": _run_backlog,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
