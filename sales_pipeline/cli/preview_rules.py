"""``sales-pipeline preview-rules RULES.yaml --partition DAY``: a change of rules, before it runs.

Reads the day's stored ``enriched_contacts`` frame and the suppression list from the store
(read only), qualifies it with the rules in use (the packaged ``default_rules.yaml``, or
``--current``) and with the proposed file, and prints how many contacts each route gets before
and after, how many contacts change route, and masked examples. No vendor is called and nothing
is written. Leads already pushed are routed as the rules route them (the push ledger is not
consulted): the preview is about the rules, and a re-run would not push them twice anyway.
"""

from __future__ import annotations

from pathlib import Path

from sales_pipeline.defs.assets.qualification import DEFAULT_RULES
from sales_pipeline.defs.io_manager import decode_frame
from sales_pipeline.settings import Settings
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.preview import RulesPreview, preview_rules
from sales_pipeline.transforms.qualification import QualificationRules

SOURCE_ASSET = "enriched_contacts"


class NoStoredFrameError(LookupError):
    """The store holds no frame of the day to preview the rules over."""


def load_rules(path: Path | None) -> QualificationRules:
    """The rules of the YAML file at ``path``, or the packaged default rules."""
    text = path.read_text(encoding="utf-8") if path else DEFAULT_RULES.read_text(encoding="utf-8")
    return QualificationRules.from_yaml(text)


def preview_partition(
    settings: Settings, partition: str, proposed: Path, current: Path | None = None
) -> RulesPreview:
    """The preview of ``proposed`` against ``current`` (default: the packaged rules) over the
    stored ``enriched_contacts`` of ``partition``."""
    with PipelineStore(settings.store_url) as store:
        payload = store.load_frame(SOURCE_ASSET, partition)
        if payload is None:
            raise NoStoredFrameError(
                f"no stored {SOURCE_ASSET} for {partition} in the store: materialize that day first"
            )
        enriched = decode_frame(payload)
        suppressed = store.suppression_sources(enriched["email"])
    return preview_rules(enriched, load_rules(current), load_rules(proposed), suppressed)


def format_preview(preview: RulesPreview, partition: str) -> str:
    """The preview as plain text: the route table, the number of moves, examples."""
    lines = [
        f"Rules preview for {partition}: {preview.contacts} contacts (stored {SOURCE_ASSET})",
        "",
        preview.counts.to_markdown(index=False),
        "",
        f"contacts whose route changes: {preview.changed}",
    ]
    if preview.changed:
        lines += ["", "examples (masked):", preview.examples.to_markdown(index=False)]
    return "\n".join(lines)
