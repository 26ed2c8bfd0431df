"""The lab data through a whole cycle of the real `ecom` command line on the real services: the published
figures, and the independent oracle's rows and accounting (tests/reference.py). Generated deliveries go
through cycles in test_crash_safety.py, small edits in test_incremental_marts.py."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from ingestion.landing import upload_directory
from tests.reference import expected_outputs

pytestmark = pytest.mark.slow


def test_lab_data_gives_the_published_figures_in_dynamodb_delta_and_the_report(pipeline, shared_data):
    assert shared_data.is_dir(), f"the lab data set is expected at {shared_data}"
    upload_directory(pipeline.s3, pipeline.settings.bucket, shared_data)
    run = pipeline.ecom("run")
    assert run.returncode == 0, run.stderr[-3000:]

    for source in ("delta", "dynamodb"):
        category_kpis, order_kpis = pipeline.kpis(source)
        assert sum(row["total_revenue"] for row in order_kpis) == Decimal("2153497.97")
        assert sum(row["total_orders"] for row in order_kpis) == 9000
        assert _row(order_kpis, order_date="2025-03-08") == {
            "order_date": "2025-03-08",
            "total_orders": 286,
            "total_revenue": Decimal("69188.47"),
            "total_items_sold": 870,
            "return_rate": Decimal("0.2378"),
            "unique_customers": 281,
            "avg_order_value": Decimal("241.92"),
        }
        electronics = _row(category_kpis, category="Electronics", order_date="2025-03-08")
        assert electronics["daily_revenue"] == Decimal("9831.60")
        assert electronics["avg_order_value"] == Decimal("91.03")
        assert electronics["avg_return_rate"] == Decimal("0.2037")
    expected = expected_outputs([shared_data])
    assert pipeline.kpis("dynamodb") == expected.kpis
    # The command itself, as an operator or a script reads it; other tests read the same in process.
    report = json.loads(pipeline.ecom("report", "--format", "json").stdout)
    assert report == {"entities": expected.accounting, "files": expected.files}

    shown = pipeline.ecom(
        "kpis", "--source", "delta", "--format", "json", "--date", "2025-03-08", "--category", "Electronics"
    )
    kpis = json.loads(shown.stdout)
    assert [row["order_date"] for row in kpis["order_kpis"]] == ["2025-03-08"]
    assert kpis["order_kpis"][0]["total_revenue"] == "69188.47"
    assert [(row["category"], row["order_date"]) for row in kpis["category_kpis"]] == [
        ("Electronics", "2025-03-08")
    ]
    assert kpis["category_kpis"][0]["avg_return_rate"] == "0.2037"


def _row(rows: list[dict], **match: str) -> dict:
    return next(row for row in rows if all(row[name] == value for name, value in match.items()))
