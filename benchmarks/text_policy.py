"""How long the text policy takes per value, as JSON: cleaning, the pre-send check, emails.

Takes ``--values`` field values from the sandbox's generated HubSpot contacts (names, company,
title, country, city, phone, website: what the pipeline cleans), replaces ``--hostile-share`` of
them by cases of the hostile corpus (``sales_pipeline_tests.hostile``), then times, best of
``--repeat`` runs, each over every value:

- ``clean_text``: :func:`~sales_pipeline.domain.text.clean_text` of each raw value;
- ``text_problem``: the pre-send check of each cleaned value, as the clients run it;
- ``lemlist_policy_text``: the Lemlist client's check (``Validator.policy_text``) of the same;
- ``email_problem``: :func:`~sales_pipeline.domain.text.email_problem` of each contact's address.

    uv run python benchmarks/text_policy.py [--values 100000] [--hostile-share 0.01]

Values repeat (the generator draws names from short lists), as they do in a real CRM.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sales_pipeline.clients.validation import Validator
from sales_pipeline.domain.text import TextField, clean_text, email_problem, text_problem
from sales_pipeline.sandbox.core.world import build_world
from sales_pipeline_tests.hostile import CORPUS, HUBSPOT_PROPERTIES

_FIELDS = {
    HUBSPOT_PROPERTIES[field]: field
    for field in (
        TextField.FIRST_NAME,
        TextField.LAST_NAME,
        TextField.COMPANY,
        TextField.JOB_TITLE,
        TextField.COUNTRY,
        TextField.CITY,
        TextField.PHONE,
        TextField.WEBSITE,
    )
}
"""The HubSpot property of each field taken from the generated contacts."""


def sample(
    count: int, hostile_share: float, seed: int = 7
) -> tuple[list[tuple[str, str]], list[str]]:
    """``count`` (value, field) pairs, ``hostile_share`` of them hostile, and the addresses."""
    world = build_world(seed=seed, contacts=count // 6 + 1, now=datetime(2026, 1, 1, tzinfo=UTC))
    values: list[tuple[str, str]] = [
        (value, str(field))
        for contact in world.contacts
        for name, field in _FIELDS.items()
        if (value := contact.properties.get(name)) is not None
    ][:count]
    rng = random.Random(seed)
    hostile = [case for case in CORPUS if case.field != TextField.EMAIL]
    for index in rng.sample(range(len(values)), int(len(values) * hostile_share)):
        case = rng.choice(hostile)
        values[index] = (case.raw, str(case.field))
    emails = [email for contact in world.contacts if (email := contact.properties.get("email"))]
    return values, emails


def best_of(repeat: int, work: Callable[[], object]) -> float:
    """The shortest of ``repeat`` timings of ``work``, in seconds."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def measure(
    values: Sequence[tuple[str, str]], emails: Sequence[str], repeat: int
) -> dict[str, object]:
    """Seconds and microseconds per value of each operation."""
    cleaned = [(clean, field) for raw, field in values if (clean := clean_text(raw, field))]
    check = Validator("lemlist", "benchmark")
    operations: dict[str, tuple[int, Callable[[], object]]] = {
        "clean_text": (len(values), lambda: [clean_text(v, f) for v, f in values]),
        "text_problem": (len(cleaned), lambda: [text_problem(v, f) for v, f in cleaned]),
        "lemlist_policy_text": (
            len(cleaned),
            lambda: [check.policy_text(v, "lead.x", f) for v, f in cleaned],
        ),
        "email_problem": (len(emails), lambda: [email_problem(e) for e in emails]),
    }
    report: dict[str, object] = {}
    for name, (count, work) in operations.items():
        seconds = best_of(repeat, work)
        report[name] = {
            "values": count,
            "seconds": round(seconds, 4),
            "us_per_value": round(seconds / count * 1e6, 3),
        }
    return report


def main() -> None:
    """Parse arguments, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--hostile-share", type=float, default=0.01)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    values, emails = sample(args.values, args.hostile_share)
    report = {
        "values": len(values),
        "distinct_values": len(set(values)),
        "hostile_share": args.hostile_share,
        **measure(values, emails, args.repeat),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
