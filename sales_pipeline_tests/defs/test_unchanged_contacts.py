"""hubspot_contacts leaves out contacts unchanged since the pipeline processed them, checked
slice by slice."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sales_pipeline.defs.assets import contacts as contacts_asset
from sales_pipeline.store.fingerprints import ContactFingerprints
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.contacts import source_fingerprints
from sales_pipeline_tests.test_schemas import frame, normalized

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_contacts_are_compared_with_their_recorded_fingerprint_slice_by_slice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contacts_asset, "FINGERPRINT_SLICE", 2)
    rows = [normalized(email=f"lead{n}@acme.com", hubspot_id=str(n)) for n in range(5)]
    day = frame(*rows)
    changed = frame(*rows[:1], normalized(email="lead1@acme.com", hubspot_id="1", company="New"))
    with PipelineStore(f"sqlite:///{tmp_path / 'store.sqlite'}") as store:
        fingerprints = ContactFingerprints(store)
        processed = frame(*rows[:3])
        for recorded in (processed, changed):
            digests = zip(recorded["email"], source_fingerprints(recorded), strict=True)
            fingerprints.record(dict(digests), NOW)

        unchanged = contacts_asset._unchanged(fingerprints, day)

    assert unchanged.index.equals(day.index)
    assert unchanged.tolist() == [True, False, True, False, False]


def test_an_empty_day_has_no_unchanged_contact(tmp_path: Path) -> None:
    with PipelineStore(f"sqlite:///{tmp_path / 'store.sqlite'}") as store:
        unchanged = contacts_asset._unchanged(ContactFingerprints(store), frame().iloc[:0])

    assert unchanged.dtype == bool
    assert unchanged.empty
