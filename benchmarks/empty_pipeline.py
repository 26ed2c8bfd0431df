"""Remove every pipeline table, DynamoDB table and bucket object on the services the environment points at,
so that a measurement (or a test) starts from an empty pipeline on warm services.

    eval "$(.venv/bin/ecom services env)" && .venv/bin/python -m benchmarks.empty_pipeline
"""

from __future__ import annotations

from ingestion.settings import Settings, dynamodb_client, s3_client, spark_session

PIPELINE_SCHEMAS = ("raw", "staging", "intermediate", "quarantine", "marts")


def empty_pipeline(spark, s3, dynamodb, bucket: str) -> None:
    """Whole schemas are dropped, so whatever a failed run left half-built goes too."""
    for schema in PIPELINE_SCHEMAS:
        spark.sql(f"DROP DATABASE IF EXISTS {schema} CASCADE")
    for table in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=table)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])


if __name__ == "__main__":
    settings = Settings()
    empty_pipeline(spark_session(settings), s3_client(settings), dynamodb_client(settings), settings.bucket)
