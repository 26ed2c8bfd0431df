"""What the benchmark scripts must share so that their numbers stay comparable: the scales, the generated
data, how KPI rows are compared, and how two variants are timed against each other.

Only the standard library and ingestion.generate, because the two scripts run in different venvs (the
project's .venv, and the Sail probe's own with the thin pyspark-client).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ingestion.generate import generate_deliveries

# Orders per scale; the generator gives about 2.5 order items per order.
SCALES = {"10k": 4_000, "1m": 400_000, "10m": 4_000_000}


def bench_deliveries(data: Path, orders: int) -> tuple[Path, Path]:
    """The history and the small follow-up delivery, as plain files so that the baselines can read them;
    one seed, so every benchmark of a scale runs on the same rows."""
    history, small = generate_deliveries(
        data, orders=orders, seed=1, shares=(0.99, 0.01), updated_share=0.005, plain=True
    )
    return history, small


def canonical_row(row: dict) -> dict[str, str]:
    """Every value as text: the pipeline, Spark and DuckDB hand back the same KPI as int, Decimal or str."""
    return {name: str(value) for name, value in row.items()}


def canonical_rows(kpis: dict[str, list[dict]]) -> dict[str, list[str]]:
    """Each KPI table as a sorted list of canonical rows, so that two results compare with `==`."""
    return {
        table: sorted(json.dumps(canonical_row(row), sort_keys=True) for row in rows)
        for table, rows in kpis.items()
    }


def alternating_rounds(variants: dict[str, Callable[[], object]], rounds: int) -> Iterator[dict[str, float]]:
    """Seconds each variant takes, round after round, each going first in every other round: whichever runs
    first warms the server's caches for the other."""
    for number in range(rounds):
        names = list(variants) if number % 2 == 0 else list(reversed(variants))
        seconds = {}
        for name in names:
            started = time.monotonic()
            variants[name]()
            seconds[name] = time.monotonic() - started
        yield seconds
