"""The operator's view, in a real browser: `dagster dev` on loopback, a cycle started by the landing
sensor, then a backfill of two dates launched from the UI's partition picker; the asset graph shows the
project's assets and checks. Its screenshot goes under the test's tmp_path; with ECOM_UPDATE_SCREENSHOT=1 it
replaces the README's (docs/images/asset-graph.png), so that a test run leaves the checkout as it was."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

from ingestion.generate import generate_deliveries
from ingestion.landing import upload_directory
from ingestion.settings import PROJECT_ROOT
from orchestration.cli import PARTITION_RANGE_TAGS
from orchestration.definitions import BACKFILL_JOB
from tests.reference import expected_outputs

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
# Headless as root in a sandbox, and no calls to Google's services (the network is closed here).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
README_SCREENSHOT = PROJECT_ROOT / "docs" / "images" / "asset-graph.png"
LOCATION = "ecom_kpis"
RUN_TIMEOUT_S = 420
ASSETS_SHOWN = (
    "order_items",
    "landed_files",
    "stg_orders",
    "rejected_rows",
    "category_kpis",
    "dynamodb_kpis",
)
MARTS = ("order_kpis", "category_kpis")
BACKFILL_CREATED = re.compile(r"Created backfill (\w+)")
PARTITION_STATS = """query Stats($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) { ... on AssetNode { partitionStats { numMaterialized } } } }"""
RUNS = """query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) { ... on Runs { results { runId status tags { key value } } } } }"""


@pytest.fixture
def dagster_dev(services, tmp_path: Path) -> Iterator[str]:
    """`dagster dev` (webserver and daemon) on a free loopback port, with its own instance folder."""
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    log = (tmp_path / "dagster-dev.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster")), "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        # As in an activated virtualenv: dagster-dbt re-parses the project with the `dbt` on PATH.
        env={**os.environ, **services.env, "DAGSTER_HOME": str(home), "PATH": _path_with_venv()},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _responds(f"{url}/server_info"), 180, "dagster dev to serve", tmp_path)
        yield url
    finally:
        # It stops within seconds when idle; after the runs of this test it has been seen to take over a
        # minute, which nothing here needs to wait for (its instance folder is thrown away).
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_a_cycle_from_the_sensor_and_a_backfill_from_the_ui_show_in_the_asset_graph(
    pipeline, dagster_dev, tmp_path
):
    (delivery,) = generate_deliveries(tmp_path / "data", orders=30, seed=5, count=1)
    upload_directory(pipeline.s3, pipeline.settings.bucket, delivery)

    sensor_run = _finished_run(
        dagster_dev, {"tags": [{"key": "ecom/trigger", "value": "landing_sensor"}]}, tmp_path
    )
    assert sensor_run["status"] == "SUCCESS"
    assert pipeline.keys("landing/") == []
    # A KPI row damaged in the Delta mart and in DynamoDB: only a backfill of its date rebuilds it in
    # Delta (no input changed), and only that run's export writes it again.
    expected = expected_outputs([delivery])
    # The cycle ran without a partition; the dates it computed show as the marts' materialized partitions.
    dates = {mart: {row["order_date"] for row in getattr(expected, mart)} for mart in MARTS}
    for mart, computed in dates.items():
        assert _materialized_partitions(dagster_dev, ["marts", mart]) == len(computed)
    day, second_day = sorted(row["order_date"] for row in expected.order_kpis)[:2]
    restored = expected.kpis
    _damage_total_revenue(pipeline, day)
    assert [pipeline.kpis(source) == restored for source in ("delta", "dynamodb")] == [False, False]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1800, "height": 1000})
        page.set_default_timeout(60_000)

        page.goto(f"{dagster_dev}/locations/{LOCATION}/jobs/{BACKFILL_JOB}")
        _skip_the_welcome_dialog(page)
        backfill_id = _launch_backfill(page, day, second_day)
        # The pages of a running backfill poll the server without pause: leave them, two cores run it.
        page.goto("about:blank")
        backfill = _finished_run(
            dagster_dev, {"tags": [{"key": "dagster/backfill", "value": backfill_id}]}, tmp_path
        )
        assert backfill["status"] == "SUCCESS"
        tags = {tag["key"]: tag["value"] for tag in backfill["tags"]}
        assert (tags[PARTITION_RANGE_TAGS[0]], tags[PARTITION_RANGE_TAGS[1]]) == (day, second_day)
        assert pipeline.kpis("delta") == pipeline.kpis("dynamodb") == restored

        page.goto(f"{dagster_dev}/assets/marts/order_kpis?view=checks")
        expect(page.get_by_text("keeps_up_with_landing").first).to_be_visible()
        expect(page.get_by_text("unique_order_kpis_order_date").first).to_be_visible()
        page.goto(f"{dagster_dev}/assets/marts/order_kpis")
        expect(page.get_by_text("newest_rows").first).to_be_visible()
        expect(page.get_by_text("data-platform").first).to_be_visible()

        page.goto(f"{dagster_dev}/asset-groups")
        expect(page.get_by_text("Materialize all").first).to_be_visible()
        page.locator("body").click(position={"x": 1000, "y": 500})
        page.keyboard.press("Alt+e")  # the graph's "Expand all groups"
        for name in ASSETS_SHOWN:
            expect(page.get_by_text(name, exact=True).first).to_be_visible()
        page.wait_for_load_state("networkidle")  # the nodes' materialization status arrives last
        screenshot = tmp_path / README_SCREENSHOT.name
        page.screenshot(path=str(screenshot))
        browser.close()
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("ECOM_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(screenshot, README_SCREENSHOT)


def _skip_the_welcome_dialog(page) -> None:
    """A fresh instance greets the first visit with a newsletter dialog over the page."""
    skip = page.get_by_role("button", name="Skip")
    with contextlib.suppress(PlaywrightTimeout):
        skip.click(timeout=10_000)


def _damage_total_revenue(pipeline, day: str) -> None:
    pipeline.spark.sql(f"UPDATE marts.order_kpis SET total_revenue = 0 WHERE order_date = DATE'{day}'")
    pipeline.dynamodb.update_item(
        TableName=pipeline.settings.order_kpi_table,
        Key={"order_date": {"S": day}},
        UpdateExpression="SET total_revenue = :zero",
        ExpressionAttributeValues={":zero": {"N": "0"}},
    )


def _launch_backfill(page, first: str, last: str) -> str:
    """The job's "Materialize all", a range of dates typed in the partition picker, "Launch backfill";
    returns the backfill's id from the notice the UI shows. (One date would launch a plain run.)"""
    page.get_by_text("Materialize all").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Show all partitions").click()  # the picker starts at the last 90 days
    picker = dialog.locator("input[type=text]")
    picker.fill(f"[{first}...{last}]")
    picker.press("Enter")
    expect(dialog.get_by_text(f"{_days_in(first, last)} partitions")).to_be_visible()
    dialog.get_by_role("button", name="Launch backfill").click()
    notice = page.get_by_text(BACKFILL_CREATED)
    return BACKFILL_CREATED.search(notice.inner_text()).group(1)


def _days_in(first: str, last: str) -> int:
    return (date.fromisoformat(last) - date.fromisoformat(first)).days + 1


def _finished_run(url: str, runs: dict, logs: Path) -> dict:
    """The first run of this filter (a RunsFilter) to finish, once it has."""
    return _wait_for(lambda: _finished_runs(url, runs), RUN_TIMEOUT_S, f"a run of {runs}", logs)[0]


def _finished_runs(url: str, runs: dict) -> list[dict]:
    filter_ = {**runs, "statuses": ["SUCCESS", "FAILURE"]}
    return _graphql(url, RUNS, {"filter": filter_})["runsOrError"]["results"]


def _materialized_partitions(url: str, key: list[str]) -> int:
    node = _graphql(url, PARTITION_STATS, {"key": {"path": key}})["assetNodeOrError"]
    return node["partitionStats"]["numMaterialized"]


def _graphql(url: str, query: str, variables: dict) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        f"{url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def _path_with_venv() -> str:
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def _responds(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _wait_for(condition: Callable[[], object], timeout_s: float, what: str, logs: Path):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(1)
    log = (logs / "dagster-dev.log").read_text()[-5000:]
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; dagster dev log:\n{log}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
