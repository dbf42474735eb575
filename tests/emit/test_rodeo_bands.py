"""The rodeo's bands of predicted build minutes: where one band ends and the next begins."""

from __future__ import annotations

import pytest

from nixgen.emit.rodeo import BANDS, minutes_band


@pytest.mark.parametrize(("minutes", "band"), [
    (0, "none"), (0.5, "short"), (10, "short"), (10.5, "long"), (40, "long"), (40.5, "very-long"), (600, "very-long"),
])
def test_band_edges(minutes: float, band: str) -> None:
    found = minutes_band(minutes)
    assert found is not None and found.name == band


def test_no_prediction_has_no_band_and_bands_look_different() -> None:
    assert minutes_band(None) is None
    assert len({b.mark for b in BANDS}) == len({b.label for b in BANDS}) == len(BANDS)
