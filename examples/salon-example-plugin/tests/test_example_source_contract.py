"""The ``swatches`` source passes Salon's ImageSource contract suite."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "salon_example_plugin", reason="salon-example-plugin is not installed in this environment"
)

from salon.testing import ImageSourceContract, UpstreamCalls
from salon_example_plugin import SwatchSource


class TestSwatchSource(ImageSourceContract):
    valid_query = {"count": "4", "seed": "contract"}
    bad_queries = [
        {"count": "many"},
        {"count": "0"},
        {"count": "51"},
        {"seed": "../etc"},
        {"colour": "red"},
    ]

    @pytest.fixture
    def image_source(self) -> SwatchSource:
        return SwatchSource(max_swatches=50)

    @pytest.fixture
    def upstream_calls(self, image_source: SwatchSource) -> UpstreamCalls:
        return lambda: image_source.renders


async def test_same_seed_same_swatches() -> None:
    source = SwatchSource()
    first = await source.entries({"count": "3", "seed": "abc"})
    again = await source.entries({"count": "3", "seed": "abc"})
    other = await source.entries({"count": "3", "seed": "abd"})
    assert [e.image_url for e in first] == [e.image_url for e in again]
    assert [e.image_url for e in first] != [e.image_url for e in other]
