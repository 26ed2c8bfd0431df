"""Shared fixtures. Tests marked `slow` run against one set of real local services for the whole session:
a Spark Connect server (Delta, Derby metastore), moto (S3) and DynamoDB Local, on ports of their own so a
developer's `make demo` services are left alone."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.empty_pipeline import empty_pipeline
from export.dynamodb import kpi_tables
from export.kpis import read_dynamodb, read_mart
from export.report import read_report
from ingestion.landing import upload_directory
from ingestion.settings import (
    PROJECT_ROOT,
    Settings,
    close_spark_clients,
    dynamodb_client,
    s3_client,
    sns_client,
    spark_session,
)
from orchestration.services import LocalServices
from orchestration.services import RunningServices as Services
from tests.notices import NoticeQueue
from tests.reference import Expected, expected_outputs

CLI_TIMEOUT_S = 900


@dataclass(frozen=True)
class Pipeline:
    """Clients on the test services, with every pipeline table, DynamoDB table and object removed."""

    settings: Settings
    env: dict[str, str]
    spark: object
    s3: object
    dynamodb: object

    def ecom(self, *args: str) -> subprocess.CompletedProcess:
        """The real `ecom` command line in a subprocess, as an operator runs it."""
        return self.ecom_with({}, *args)

    def ecom_with(self, overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "orchestration.cli", *args],
            env={**os.environ, **self.env, **overrides},
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
        )

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.settings.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def kpis(self, source: str) -> tuple[list[dict], list[dict]]:
        """(category_kpis, order_kpis) as read back from the Delta marts or from DynamoDB."""
        tables = kpi_tables(self.settings.category_kpi_table, self.settings.order_kpi_table)
        if source == "delta":
            return tuple(read_mart(self.spark, table) for table in tables)
        return tuple(read_dynamodb(self.dynamodb, table) for table in tables)

    def report(self) -> dict:
        """What `ecom report --format json` prints, read in this process: the command itself costs a Python
        and Spark client start-up each time, so only the test of the command runs it."""
        return read_report(self.spark)

    def kept_digests(self) -> list[str]:
        """MD5s of every object in archive/ and errors/ (sidecars aside), to compare with what landed."""
        bucket = self.settings.bucket
        return sorted(
            hashlib.md5(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
            for prefix in ("archive/", "errors/")
            for key in self.keys(prefix)
            if not key.endswith(".error.json")
        )


def apply_one_cycle_each(pipeline: Pipeline, deliveries: list[Path]) -> None:
    """Upload each delivery and run one `ecom run` for it; after each, the KPIs in Delta and DynamoDB, the
    report and the bucket must be what the contract (the oracle) says."""
    for applied, delivery in enumerate(deliveries, start=1):
        upload_directory(pipeline.s3, pipeline.settings.bucket, delivery)
        run = pipeline.ecom("run")
        assert run.returncode == 0, run.stderr[-3000:]
        assert_state_is_what_the_contract_says(pipeline, deliveries[:applied])


def assert_state_is_what_the_contract_says(pipeline: Pipeline, applied: list[Path]) -> Expected:
    """After a successful cycle over these deliveries: KPIs in Delta and DynamoDB, the report, and every
    uploaded file kept byte for byte out of landing/, all as the oracle says."""
    expected = expected_outputs(applied)
    for source in ("delta", "dynamodb"):
        assert pipeline.kpis(source) == expected.kpis, (source, len(applied))
    assert pipeline.report() == {"entities": expected.accounting, "files": expected.files}
    assert pipeline.keys("landing/") == []
    assert pipeline.kept_digests() == file_digests(applied)
    return expected


def file_digests(directories: list[Path]) -> list[str]:
    """MD5s of every file under the directories: what a test uploaded."""
    return sorted(
        hashlib.md5(path.read_bytes()).hexdigest()
        for directory in directories
        for path in directory.rglob("*")
        if path.is_file()
    )


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    state = tmp_path_factory.mktemp("services")
    # ECOM_TEST_PORTS moves them, so two test runs (two checkouts) can share a machine.
    spark_port, s3_port, dynamodb_port = map(
        int, os.environ.get("ECOM_TEST_PORTS", "15012,4576,8010").split(",")
    )
    local = LocalServices(
        state_dir=state, spark_port=spark_port, s3_port=s3_port, dynamodb_port=dynamodb_port
    )
    settings = Settings(
        bucket="ecom-test",
        warehouse=str(state / "warehouse"),
        category_kpi_table="test_category_kpis",
        order_kpi_table="test_order_kpis",
        spark_remote=local.endpoints["SPARK_REMOTE"],
    )
    env = {
        **local.client_env({}),
        "ECOM_BUCKET": settings.bucket,
        "ECOM_WAREHOUSE": settings.warehouse,
        "ECOM_CATEGORY_KPI_TABLE": settings.category_kpi_table,
        "ECOM_ORDER_KPI_TABLE": settings.order_kpi_table,
        "DAGSTER_HOME": str(state / "dagster"),
    }
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        local.start(settings)
        yield Services(local, settings, env)
    finally:
        close_spark_clients()
        local.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def pipeline(services: Services) -> Pipeline:
    return reset_pipeline(services)


def reset_pipeline(services: Services) -> Pipeline:
    """Clients on the test services after removing every pipeline table, DynamoDB table and object."""
    settings = services.settings
    spark, s3, dynamodb = spark_session(settings), s3_client(settings), dynamodb_client(settings)
    empty_pipeline(spark, s3, dynamodb, settings.bucket)
    return Pipeline(settings, services.env, spark, s3, dynamodb)


@pytest.fixture
def notices(services: Services) -> NoticeQueue:
    """A fresh queue subscribed to the services' notice topic: what an on-call inbox would receive."""
    import boto3

    sqs = boto3.client("sqs", endpoint_url=services.env["AWS_ENDPOINT_URL_SNS"], region_name="us-east-1")
    topic = services.env["ECOM_SNS_TOPIC_ARN"]
    return NoticeQueue.subscribe(sns_client(services.settings), sqs, topic)


@pytest.fixture
def shared_data() -> Path:
    return PROJECT_ROOT.parent / "shared" / "data" / "lab-2025"
