"""DynamoDB writes: exact numbers, batches of 25, UnprocessedItems and throttling retried (Stubber)."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import boto3
import pytest
from botocore.stub import Stubber

from export.dynamodb import BATCH_SIZE, MAX_ATTEMPTS, ExportError, kpi_tables, write_requests

CATEGORY, ORDER = kpi_tables("category_kpi_table", "order_kpi_table")


@pytest.fixture
def client():
    return boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def _put(number: int) -> dict:
    return {"PutRequest": {"Item": {"order_date": {"S": f"2025-03-{number:02d}"}}}}


def test_items_carry_exact_decimal_text_and_iso_dates():
    item = CATEGORY.item(
        {
            "category": "Jeans",
            "order_date": date(2025, 3, 8),
            "daily_revenue": Decimal("9831.60"),
            "avg_order_value": Decimal("91.03"),
            "avg_return_rate": Decimal("0.2037"),
            "orders": 108,
            "items_sold": 126,
        }
    )
    assert item["order_date"] == {"S": "2025-03-08"}
    assert item["daily_revenue"] == {"N": "9831.60"}
    assert item["avg_return_rate"] == {"N": "0.2037"}
    assert item["orders"] == {"N": "108"}


def test_binary_floats_are_refused():
    with pytest.raises(TypeError, match="exact decimals"):
        ORDER.item({"order_date": "2025-03-08", **dict.fromkeys(ORDER.numbers, 0.1)})


def test_writes_go_in_batches_of_25_and_unprocessed_items_are_retried(client):
    requests = [_put(n) for n in range(1, 31)]
    first_batch, second_batch = requests[:BATCH_SIZE], requests[BATCH_SIZE:]
    with Stubber(client) as stub:
        stub.add_response(
            "batch_write_item",
            {"UnprocessedItems": {"t": first_batch[-2:]}},
            {"RequestItems": {"t": first_batch}},
        )
        stub.add_response(
            "batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {"t": first_batch[-2:]}}
        )
        stub.add_response("batch_write_item", {}, {"RequestItems": {"t": second_batch}})
        sleeps = []
        write_requests(client, "t", requests, sleep=sleeps.append, writers=1)
        stub.assert_no_pending_responses()
    assert len(sleeps) == 1


def test_throttling_is_retried_with_growing_backoff(client):
    requests = [_put(1)]
    with Stubber(client) as stub:
        for _ in range(2):
            stub.add_client_error(
                "batch_write_item", service_error_code="ProvisionedThroughputExceededException"
            )
        stub.add_response("batch_write_item", {}, {"RequestItems": {"t": requests}})
        sleeps = []
        write_requests(client, "t", requests, sleep=sleeps.append, writers=1)
        stub.assert_no_pending_responses()
    assert sleeps == sorted(sleeps) and len(sleeps) == 2 and sleeps[0] < sleeps[1]


def test_writes_still_unprocessed_after_every_attempt_fail_with_a_clear_error(client):
    requests = [_put(1)]
    with Stubber(client) as stub:
        for _ in range(MAX_ATTEMPTS):
            stub.add_response("batch_write_item", {"UnprocessedItems": {"t": requests}})
        with pytest.raises(ExportError, match="rerun the cycle"):
            write_requests(client, "t", requests, sleep=lambda _: None, writers=1)


def test_other_errors_are_not_retried(client):
    with Stubber(client) as stub:
        stub.add_client_error("batch_write_item", service_error_code="ValidationException")
        with pytest.raises(Exception, match="ValidationException"):
            write_requests(client, "t", [_put(1)], sleep=lambda _: None, writers=1)


class _DeferringClient:
    """Accepts every batch but hands back its last item unprocessed the first time it sees that item, from
    whichever writer thread calls; records what was stored."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stored: list[str] = []
        self.deferred: set[str] = set()

    def batch_write_item(self, RequestItems: dict) -> dict:
        requests = RequestItems["t"]
        last = requests[-1]["PutRequest"]["Item"]["order_date"]["S"]
        with self.lock:
            if last not in self.deferred:
                self.deferred.add(last)
                self.stored += [r["PutRequest"]["Item"]["order_date"]["S"] for r in requests[:-1]]
                return {"UnprocessedItems": {"t": [requests[-1]]}}
            self.stored += [r["PutRequest"]["Item"]["order_date"]["S"] for r in requests]
            return {}


def test_parallel_writers_store_every_item_once_and_retry_each_batch_s_unprocessed_items():
    requests = [_put(n) for n in range(1, 29)] * 10
    fake = _DeferringClient()

    write_requests(fake, "t", requests, sleep=lambda _: None, writers=4)

    expected = sorted(r["PutRequest"]["Item"]["order_date"]["S"] for r in requests)
    assert sorted(fake.stored) == expected
    assert len(fake.deferred) == 12
