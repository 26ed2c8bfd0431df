"""The oracle's own parsing and rounding on the forms the contract allows, so its verdicts can be trusted."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from tests.reference import parse_timestamp, round_half_up

NOON = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-08 12:00:00",
        "2025-03-08T12:00:00",
        "2025-03-08T12:00:00Z",
        "2025-03-08 12:00:00 UTC",
        "2025-03-08T17:30:00+05:30",
        "2025-03-08T17:30:00+0530",
        "2025-03-08 08:00:00 -04:00",
        "2025-03-08 08:00:00-0400",
    ],
)
def test_every_timestamp_form_means_the_same_instant(text):
    assert parse_timestamp(text) == NOON


def test_fractions_keep_microseconds():
    assert parse_timestamp("2025-03-08 12:00:00.123456789Z").microsecond == 123456
    assert parse_timestamp("2025-03-08 12:00:00.5").microsecond == 500000


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Fraction(45, 1000), 2, "0.05"),
        (Fraction(1, 32), 4, "0.0313"),
        (Fraction(1, 3), 2, "0.33"),
        (Fraction(0), 4, "0.0000"),
    ],
)
def test_rounding_is_half_up(value, places, expected):
    assert round_half_up(value, places) == Decimal(expected)
    assert str(round_half_up(value, places)) == expected
