"""Fixtures every test shares."""

from collections.abc import Iterator

import pytest

from sales_pipeline.settings import load_settings


@pytest.fixture(autouse=True)
def settings_read_afresh() -> Iterator[None]:
    """Each test sees the environment it set: the process-wide settings are read again."""
    load_settings.cache_clear()
    yield
    load_settings.cache_clear()
