"""``sales-pipeline backlog``: see the work the pipeline owes, retry it or give it up by hand.

``sales-pipeline backlog`` prints the owed and given-up work by stage, state, reason and age,
then the given-up items (emails masked). ``retry EMAIL`` makes that person's deferred or
given-up work due at once (the next run, or the outstanding-work sensor's drain, takes it);
``give-up EMAIL --reason TEXT`` stops retrying it. ``--stage`` limits either to one stage.
The store is the one the settings name (``SALES_PIPELINE_DATABASE_URL``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime

from sales_pipeline.settings import Settings
from sales_pipeline.store.backlog import (
    SUMMARY_COLUMNS,
    Stage,
    WorkBacklog,
    WorkState,
    outstanding_summary,
)
from sales_pipeline.store.engine import utc_now
from sales_pipeline.store.ledger import PushLedger
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.masking import mask_email

STAGES = ("push", *(stage.value for stage in Stage))


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``backlog`` command and its ``retry`` and ``give-up`` actions."""
    parser = subparsers.add_parser(
        "backlog", help="show, retry or give up owed work", description=__doc__
    )
    actions = parser.add_subparsers(dest="action")
    retry = actions.add_parser("retry", help="make a person's owed work due now")
    retry.add_argument("email")
    retry.add_argument("--stage", choices=STAGES)
    give_up = actions.add_parser("give-up", help="stop retrying a person's owed work")
    give_up.add_argument("email")
    give_up.add_argument("--reason", required=True)
    give_up.add_argument("--stage", choices=STAGES)


def run(args: argparse.Namespace, settings: Settings, out: Callable[[str], None] = print) -> int:
    """Carry out ``args`` against the store of ``settings``; the exit code."""
    now = utc_now()
    stages = [args.stage] if getattr(args, "stage", None) else list(STAGES)
    with PipelineStore(settings.store_url) as store:
        ledger, backlog = PushLedger(store), WorkBacklog(store)
        if args.action == "retry":
            changed = sum(_retry(ledger, backlog, stage, args.email, now) for stage in stages)
            out(f"{changed} item(s) of {mask_email(args.email)} due now")
        elif args.action == "give-up":
            changed = sum(
                _give_up(ledger, backlog, stage, args.email, args.reason, now) for stage in stages
            )
            out(f"{changed} item(s) of {mask_email(args.email)} given up")
        else:
            _show(ledger, backlog, now, out)
    return 0


def _retry(ledger: PushLedger, backlog: WorkBacklog, stage: str, email: str, now: datetime) -> int:
    if stage == "push":
        return ledger.retry(email, now)
    return backlog.retry(Stage(stage), [email], now)


def _give_up(
    ledger: PushLedger, backlog: WorkBacklog, stage: str, email: str, reason: str, now: datetime
) -> int:
    if stage == "push":
        return ledger.give_up(email, reason, now)
    return backlog.give_up(Stage(stage), [email], reason, now)


def _show(
    ledger: PushLedger, backlog: WorkBacklog, now: datetime, out: Callable[[str], None]
) -> None:
    rows = outstanding_summary(ledger, backlog, now)
    out("  ".join(SUMMARY_COLUMNS))
    for row in rows:
        out("  ".join(str(row[column]) for column in SUMMARY_COLUMNS))
    if not rows:
        out("nothing owed, nothing given up")
    given_up = [
        *(("push", p.email, p.reason) for p in ledger.given_up_pushes()),
        *((i.stage.value, i.key, i.reason) for i in backlog.items(state=WorkState.GIVEN_UP)),
    ]
    for stage, email, reason in given_up:
        out(f"given up  {stage:<9} {mask_email(email)}  {reason}")
