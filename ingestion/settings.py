"""Configuration from the environment, and the clients every part of the pipeline builds from it.

Endpoints follow the AWS SDK conventions (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_DYNAMODB`, ...), which
boto3 reads by itself: the same code talks to the local emulators or to AWS depending only on the
environment. Nothing here reads the environment at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = PROJECT_ROOT / ".ecom"
DEFAULT_SPARK_REMOTE = "sc://127.0.0.1:15002"


@dataclass(frozen=True)
class Settings:
    bucket: str = "ecommerce-data"
    warehouse: str = str(STATE_DIR / "warehouse")
    category_kpi_table: str = "category_kpi_table"
    order_kpi_table: str = "order_kpi_table"
    spark_remote: str = DEFAULT_SPARK_REMOTE
    region: str = "us-east-1"
    # Where cycle notices go (failures, rejections); unset means no notices.
    sns_topic_arn: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            bucket=env.get("ECOM_BUCKET", defaults.bucket),
            warehouse=env.get("ECOM_WAREHOUSE", defaults.warehouse),
            category_kpi_table=env.get("ECOM_CATEGORY_KPI_TABLE", defaults.category_kpi_table),
            order_kpi_table=env.get("ECOM_ORDER_KPI_TABLE", defaults.order_kpi_table),
            spark_remote=env.get("SPARK_REMOTE", defaults.spark_remote),
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", defaults.region)),
            sns_topic_arn=env.get("ECOM_SNS_TOPIC_ARN") or None,
        )


def s3_client(settings: Settings):
    """An S3 client; its endpoint comes from `AWS_ENDPOINT_URL_S3` when set (boto3 reads it itself)."""
    import boto3

    return boto3.client("s3", region_name=settings.region)


def dynamodb_client(settings: Settings):
    import boto3

    return boto3.client("dynamodb", region_name=settings.region)


def sns_client(settings: Settings):
    import boto3

    return boto3.client("sns", region_name=settings.region)


_CLIENT_SESSIONS: dict[int, object] = {}


def spark_session(settings: Settings):
    """A Spark Connect client session on the shared server (cheap: no JVM in this process)."""
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(settings.spark_remote).getOrCreate()
    _CLIENT_SESSIONS[id(session)] = session
    return session


def close_spark_clients() -> None:
    """Close this process's Connect channels before it exits.

    pyspark's exit hook otherwise sends a clean-up call to the server and, when the server is gone (an
    outage, or services stopped first), retries it for minutes. The server releases idle sessions itself.
    """
    while _CLIENT_SESSIONS:
        _, session = _CLIENT_SESSIONS.popitem()
        session.client.close()
