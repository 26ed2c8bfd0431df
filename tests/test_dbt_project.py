"""The dbt project on every model built empty, once for this module: the unit tests of the KPI definitions
pass, and the docs are complete (every column of every model and source, as the real catalog lists it, has
a description, and the DynamoDB KPI tables are exposures of the two KPI marts)."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from pathlib import Path

import pytest

from ingestion.raw_tables import ensure_raw_tables
from ingestion.settings import PROJECT_ROOT, spark_session
from orchestration.dbt_project import DBT_EXECUTABLE
from tests.conftest import reset_pipeline
from tests.reference import timestamp_or_none

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def target(services, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Unit tests need their input relations and `dbt docs generate` reads the catalog from the warehouse,
    so every model is built empty first. dbt writes under the returned folder: the project's target/ holds
    the manifest the Dagster code loads."""
    ensure_raw_tables(reset_pipeline(services).spark)
    target = tmp_path_factory.mktemp("dbt") / "target"
    built = _dbt(target, "run", "--empty")
    assert built.returncode == 0, built.stdout[-3000:]
    return target


def _dbt(target: Path, *args: str) -> subprocess.CompletedProcess:
    options = ["--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT)]
    paths = ["--target-path", str(target), "--log-path", str(target.parent / "logs")]
    return subprocess.run(
        [DBT_EXECUTABLE, "--no-use-colors", *args, *options, *paths],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )


def test_dbt_unit_tests_of_the_kpi_definitions_pass(target):
    tested = _dbt(target, "test", "--select", "test_type:unit")

    assert tested.returncode == 0, tested.stdout[-5000:]
    assert "PASS=12" in tested.stdout


def test_staging_parses_every_timestamp_form_as_the_oracle_does(target, services):
    texts = timestamp_texts()
    compiled = _dbt(
        target,
        "compile",
        "--quiet",
        "--inline",
        "select t, date_format({{ parse_timestamp('t') }}, 'yyyy-MM-dd HH:mm:ss.SSSSSS') as parsed"
        " from texts",
    )
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    spark = spark_session(services.settings)
    spark.createDataFrame([(text,) for text in texts], "t string").createOrReplaceTempView("texts")

    parsed = {row["t"]: row["parsed"] for row in spark.sql(compiled.stdout).collect()}

    expected = {text: oracle_timestamp(text) for text in texts}
    assert sum(value is not None for value in expected.values()) > 400
    assert {t: (parsed[t], expected[t]) for t in texts if parsed[t] != expected[t]} == {}


def timestamp_texts() -> list[str]:
    """Every form the contract allows and many it does not: dates and times in and out of range, fractions
    of 0 to 10 digits, each zone with and without a space, offsets past Java's ±18:00 and past ±23:59, and
    instants whose offset takes them out of the years 1 to 9999."""
    days = ["2025-03-08 12:00:00", "2024-02-29T23:59:59", "2025-02-29 10:00:00", "2025-13-01 10:00:00"]
    days += ["9999-12-31 23:00:00", "0001-01-01 01:00:00", "0000-12-31 23:00:00"]  # offsets cross the ends
    times = ["1999-12-31T24:00:00", "2025-03-08 12:60:00", "2025-3-08 12:00:00", "2025-03-08 12:00"]
    fractions = ["", ".", ".12a", ".1234567890"] + [".123456789"[: n + 1] for n in range(1, 10)]
    zones = ["", "Z", "UTC", "utc", "X", "+05:30", "-04:00", "+0530", "-0400", "+18:00", "-18:01", "+23:59"]
    zones += ["-2359", "+24:00", "+05:60", "+5:30", "+05:3", "+05:30Z"]
    return sorted(
        day + fraction + space + zone
        for day, fraction, space, zone in itertools.product(days + times, fractions, ["", " ", "  "], zones)
    )


def oracle_timestamp(text: str) -> str | None:
    instant = timestamp_or_none(text)
    return instant and instant.replace(tzinfo=None).isoformat(" ", "microseconds")


def test_dbt_docs_describe_every_column_and_expose_the_dynamodb_tables(target):
    started = time.time()

    generated = _dbt(target, "docs", "generate", "--static")

    assert generated.returncode == 0, generated.stdout[-3000:]
    assert (target / "static_index.html").stat().st_mtime >= started
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    models = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    assert models <= set(catalog["nodes"]), "every model must be in the catalog, or nothing is checked"
    assert set(manifest["sources"]) <= set(catalog["sources"])
    described = {uid: manifest["nodes"][uid] for uid in models} | manifest["sources"]
    listed = {uid: catalog["nodes"][uid] for uid in models} | catalog["sources"]
    assert undescribed(described, listed) == []
    assert stale_columns(described, listed) == []
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {name: e["depends_on"]["nodes"] for name, e in exposures.items()} == {
        "category_kpi_table": ["model.ecom_kpis.category_kpis"],
        "order_kpi_table": ["model.ecom_kpis.order_kpis"],
    }
    assert all(e["description"].strip() and e["owner"]["email"] for e in exposures.values())


def undescribed(described: dict[str, dict], listed: dict[str, dict]) -> list[str]:
    """Models and sources without a description, and catalog columns without one, as `unique_id[.column]`."""
    missing = []
    for uid, node in sorted(described.items()):
        if not node["description"].strip():
            missing.append(uid)
        text = {name.lower(): column["description"].strip() for name, column in node["columns"].items()}
        missing += [f"{uid}.{name}" for name in listed[uid]["columns"] if not text.get(name.lower())]
    return missing


def stale_columns(described: dict[str, dict], listed: dict[str, dict]) -> list[str]:
    """Columns documented in YAML that the relation does not have (a typo, or a column since dropped)."""
    return [
        f"{uid}.{name}"
        for uid, node in sorted(described.items())
        for name in node["columns"]
        if name.lower() not in {column.lower() for column in listed[uid]["columns"]}
    ]
