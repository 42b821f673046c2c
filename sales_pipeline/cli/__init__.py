"""The ``sales-pipeline`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sales_pipeline.cli import backlog
from sales_pipeline.cli.webhooks import add_webhooks_parser, run_webhooks
from sales_pipeline.sandbox import Credentials, SandboxConfig, SandboxOptions, serve


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
    parser.add_argument(
        "--hubspot-webhook-url", help="where HubSpot posts contact events (default: nowhere)"
    )


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
            hubspot_webhook_url=args.hubspot_webhook_url,
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


def quiet_dagster_warnings() -> None:
    """Ignore, in this process, the warnings Dagster prints about its own beta, preview and
    superseded APIs: notices to Dagster's users, not problems of this project."""
    import warnings

    from dagster import BetaWarning, PreviewWarning, SupersessionWarning

    for category in (BetaWarning, PreviewWarning, SupersessionWarning):
        warnings.filterwarnings("ignore", category=category)


def _run_demo(args: argparse.Namespace) -> int:
    quiet_dagster_warnings()
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
    parser.add_argument(
        "--verbose", action="store_true", help="keep Dagster's beta and preview warnings"
    )


def _run_dev(args: argparse.Namespace) -> int:
    if not args.verbose:
        quiet_dagster_warnings()
    from sales_pipeline.cli.dev import run_dev

    return run_dev(args.port, args.contacts, args.faults, verbose=args.verbose)


def _add_preview_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "preview-rules",
        help="show how a change of qualification rules would change who is qualified and where",
        description="Qualify a day's stored enriched contacts with the rules in use and with "
        "RULES; print the contacts per route before and after, how many change route, and "
        "masked examples. Calls no vendor and writes nothing.",
    )
    parser.add_argument("rules", type=Path, help="the proposed rules (YAML)")
    parser.add_argument("--partition", required=True, help="the day, YYYY-MM-DD")
    parser.add_argument(
        "--current", type=Path, help="the rules in use (default: the packaged default rules)"
    )


def _run_preview(args: argparse.Namespace) -> int:
    quiet_dagster_warnings()
    from sales_pipeline.cli.preview_rules import (
        NoStoredFrameError,
        format_preview,
        preview_partition,
    )
    from sales_pipeline.settings import load_settings

    try:
        preview = preview_partition(load_settings(), args.partition, args.rules, args.current)
    except NoStoredFrameError as missing:
        print(missing, file=sys.stderr)
        return 1
    print(format_preview(preview, args.partition))
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
    _add_preview_parser(subparsers)
    subparsers.add_parser(
        "doctor",
        help="check every configured API, the store and the rate limiter",
        description="One line per check; non-zero exit on any failure; never prints a secret.",
    )
    backlog.add_parser(subparsers)
    add_webhooks_parser(subparsers)
    args = parser.parse_args(argv)
    commands = {
        "sandbox": _run_sandbox,
        "demo": _run_demo,
        "dev": _run_dev,
        "preview-rules": _run_preview,
        "doctor": _run_doctor,
        "backlog": _run_backlog,
        "webhooks": run_webhooks,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
