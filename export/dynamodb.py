"""Mirror the KPI marts into DynamoDB: write the mart rows the table does not hold yet (new or changed),
delete keys that left the mart. Comparing with what the table holds, rather than remembering what was
written, makes an interrupted export converge on the next run and keeps a quiet cycle's writes at zero.

Numbers travel as DynamoDB `N` strings built from Python Decimals, so a KPI is stored exactly as the
mart holds it. BatchWriteItem takes 25 requests at a time and may hand some back (UnprocessedItems) or
throttle; both are retried with exponential backoff until a bounded number of attempts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

BATCH_SIZE = 25
WRITERS = 8
MAX_ATTEMPTS = 8
THROTTLING_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
}


class ExportError(RuntimeError):
    """DynamoDB kept refusing writes after every retry; the mart is intact and a rerun converges."""


@dataclass(frozen=True)
class KpiTable:
    """One mart and its DynamoDB table: key attributes are strings, every other column a number.

    `scales` gives each number column its decimal places (0 for counts): DynamoDB keeps numbers without
    trailing zeros, so readers re-apply the scale to show 9831.60 rather than 9831.6.
    """

    mart: str
    name: str
    keys: tuple[str, ...]
    scales: Mapping[str, int]

    @property
    def numbers(self) -> tuple[str, ...]:
        return tuple(self.scales)

    def item(self, row: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        item = {key: {"S": _as_text(row[key])} for key in self.keys}
        item.update({column: {"N": _as_number(row[column])} for column in self.numbers})
        return item

    def key_item(self, key: tuple[str, ...]) -> dict[str, dict[str, str]]:
        return {name: {"S": value} for name, value in zip(self.keys, key, strict=True)}

    def key_of(self, item: Mapping[str, Mapping[str, str]]) -> tuple[str, ...]:
        return tuple(item[key]["S"] for key in self.keys)

    def same_values(self, stored: Mapping[str, Mapping[str, str]] | None, item: Mapping) -> bool:
        """DynamoDB drops trailing zeros (9831.60 comes back as 9831.6): numbers compare as decimals."""
        if stored is None or stored.keys() != item.keys():
            return False
        return all(
            Decimal(stored[name]["N"]) == Decimal(value["N"]) if "N" in value else stored[name] == value
            for name, value in item.items()
        )


@dataclass(frozen=True)
class SyncResult:
    table: str
    written: int
    unchanged: int
    deleted: int
    seconds: float

    @property
    def items_per_second(self) -> float:
        return (self.written + self.deleted) / self.seconds if self.seconds else 0.0


def kpi_tables(category_table: str, order_table: str) -> tuple[KpiTable, KpiTable]:
    return (
        KpiTable(
            mart="marts.category_kpis",
            name=category_table,
            keys=("category", "order_date"),
            scales={
                "daily_revenue": 2,
                "avg_order_value": 2,
                "avg_return_rate": 4,
                "orders": 0,
                "items_sold": 0,
            },
        ),
        KpiTable(
            mart="marts.order_kpis",
            name=order_table,
            keys=("order_date",),
            scales={
                "total_orders": 0,
                "total_revenue": 2,
                "total_items_sold": 0,
                "return_rate": 4,
                "unique_customers": 0,
                "avg_order_value": 2,
            },
        ),
    )


def ensure_table(client, table: KpiTable) -> None:
    """Create the table (on-demand billing, keys as strings) unless it exists; wait until it is usable."""
    try:
        client.describe_table(TableName=table.name)
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    key_types = ["HASH", "RANGE"]
    client.create_table(
        TableName=table.name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in table.keys],
        KeySchema=[
            {"AttributeName": key, "KeyType": kind} for key, kind in zip(table.keys, key_types, strict=False)
        ],
    )
    client.get_waiter("table_exists").wait(TableName=table.name, WaiterConfig={"Delay": 1})
    log.info("created DynamoDB table %s", table.name)


def sync_table(client, table: KpiTable, rows: Iterable[Mapping[str, Any]]) -> SyncResult:
    """Make the DynamoDB table hold exactly these rows, writing only the differences."""
    started = time.monotonic()
    ensure_table(client, table)
    wanted = {table.key_of(item): item for item in (table.item(row) for row in rows)}
    stored = stored_items(client, table)
    changed = [item for key, item in wanted.items() if not table.same_values(stored.get(key), item)]
    stale = [key for key in stored if key not in wanted]
    write_requests(client, table.name, [{"PutRequest": {"Item": item}} for item in changed])
    write_requests(client, table.name, [{"DeleteRequest": {"Key": table.key_item(key)}} for key in stale])
    result = SyncResult(
        table.name, len(changed), len(wanted) - len(changed), len(stale), time.monotonic() - started
    )
    log.info(
        "%s: %d item(s) written, %d unchanged, %d stale key(s) deleted in %.1fs",
        table.name,
        result.written,
        result.unchanged,
        result.deleted,
        result.seconds,
    )
    return result


def stored_items(client, table: KpiTable) -> dict[tuple[str, ...], dict]:
    """Every item the table holds, by key, as DynamoDB returns it."""
    items = {}
    for page in client.get_paginator("scan").paginate(TableName=table.name):
        items.update({table.key_of(item): item for item in page.get("Items", [])})
    return items


def scan_items(client, table_name: str) -> list[dict[str, Any]]:
    """Every item of a table as plain values: strings stay strings, numbers become Decimals."""
    items = []
    for page in client.get_paginator("scan").paginate(TableName=table_name):
        items.extend(
            {name: Decimal(value["N"]) if "N" in value else value["S"] for name, value in item.items()}
            for item in page.get("Items", [])
        )
    return items


def write_requests(
    client,
    table_name: str,
    requests: list[dict],
    sleep: Callable[[float], None] = time.sleep,
    writers: int = WRITERS,
) -> None:
    """Batches of 25 from several writers at once: one writer spends most of its time waiting for the
    round trip (DynamoDB Local took 721 items/s from one writer, docs/benchmarks.md). Each batch retries
    its own unprocessed items; the first batch that fails for good fails the export."""
    batches = list(_chunks(requests, BATCH_SIZE))
    with ThreadPoolExecutor(max_workers=max(1, min(writers, len(batches)))) as pool:
        for _ in pool.map(lambda batch: _write_batch(client, table_name, batch, sleep), batches):
            pass


def _write_batch(client, table_name: str, requests: list[dict], sleep: Callable[[float], None]) -> None:
    pending = requests
    for attempt in range(MAX_ATTEMPTS):
        try:
            response = client.batch_write_item(RequestItems={table_name: pending})
            pending = response.get("UnprocessedItems", {}).get(table_name, [])
        except ClientError as error:
            if error.response["Error"]["Code"] not in THROTTLING_CODES:
                raise
            log.warning("%s: throttled (%s), retrying", table_name, error.response["Error"]["Code"])
        if not pending:
            return
        sleep(min(0.05 * 2**attempt, 5.0))
    raise ExportError(
        f"DynamoDB table {table_name}: {len(pending)} write(s) still unprocessed after {MAX_ATTEMPTS} "
        "attempts; the marts are unchanged, rerun the cycle to converge"
    )


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _as_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _as_number(value: Any) -> str:
    if isinstance(value, float):
        raise TypeError(f"refusing binary float {value!r} for a DynamoDB number: KPIs are exact decimals")
    return str(value)
