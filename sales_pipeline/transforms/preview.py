"""How a change of qualification rules would change who is qualified and routed where.

Pure pandas over an ``EnrichedContacts`` frame (no I/O, no vendor): both rule sets go through
the same :func:`~sales_pipeline.transforms.qualification.qualify`, so the preview is exactly
what ``qualified_leads`` would decide with each. Campaigns are shown as the rules name them
(ids or names), since resolving names would ask Lemlist.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from sales_pipeline.transforms.masking import masked_sample
from sales_pipeline.transforms.qualification import QualificationRules, qualify

EXAMPLE_ROWS = 10
"""Contacts whose route changes, shown (masked) as examples."""


@dataclass(frozen=True)
class RulesPreview:
    """The comparison of two rule sets over one day's contacts."""

    contacts: int
    counts: pd.DataFrame
    """One row per route (`segment -> campaign`, or `excluded: reason`): `before`, `after`,
    `change`."""
    changed: int
    """Contacts whose route differs."""
    examples: pd.DataFrame
    """Up to :data:`EXAMPLE_ROWS` of them: masked email, route before and after, scores."""


def routes(leads: pd.DataFrame) -> pd.Series:
    """Each qualified lead's route: ``segment -> campaign``, or ``excluded: reason``."""
    segment = leads["segment"].fillna("(no segment)").astype(str)
    routed = segment + " -> " + leads["campaign_id"].astype(str)
    return routed.where(~leads["excluded"], "excluded: " + leads["exclusion_reason"].astype(str))


def preview_rules(
    enriched: pd.DataFrame,
    current: QualificationRules,
    proposed: QualificationRules,
    suppression_sources: pd.Series,
    pushed: Collection[str] = (),
) -> RulesPreview:
    """Qualify ``enriched`` with ``current`` and with ``proposed`` rules and compare the routes
    (``suppression_sources`` and ``pushed`` as :func:`qualify` takes them)."""
    before = qualify(enriched, current, suppression_sources, pushed)
    after = qualify(enriched, proposed, suppression_sources, pushed)
    route_before, route_after = routes(before), routes(after)
    counts = (
        pd.DataFrame({"before": route_before.value_counts(), "after": route_after.value_counts()})
        .fillna(0)
        .astype(int)
    )
    counts["change"] = counts["after"] - counts["before"]
    counts = counts.sort_index(key=lambda index: index.str.startswith("excluded")).rename_axis(
        "route"
    )
    moved = route_before != route_after
    examples = pd.DataFrame(
        {
            "email": enriched["email"],
            "before": route_before,
            "after": route_after,
            "icp_before": before["icp_score"].round(2),
            "icp_after": after["icp_score"].round(2),
        }
    )[moved]
    return RulesPreview(
        contacts=len(enriched),
        counts=counts.reset_index(),
        changed=int(moved.sum()),
        examples=masked_sample(examples, EXAMPLE_ROWS),
    )
