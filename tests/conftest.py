"""Shared test settings."""

import pytest

from abaw.core.layout import layout


@pytest.fixture(autouse=True)
def fresh_layouts():
    # Layouts are cached per (track, edition); each test builds the ones it uses afresh, so what
    # it checks does not depend on which test filled the cache first (mutation testing relies on
    # the layout code running inside the test that covers it).
    layout.cache_clear()
    yield
