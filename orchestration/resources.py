"""The one resource every asset and the sensor share: configuration plus the clients built from it."""

from dataclasses import replace

import dagster as dg

from ingestion.settings import Settings, dynamodb_client, s3_client, spark_session


class EcomResource(dg.ConfigurableResource):
    """Pipeline settings. Fields left unset come from the environment when a run starts (ECOM_BUCKET,
    ECOM_WAREHOUSE, ECOM_*_KPI_TABLE, SPARK_REMOTE, AWS_REGION), never at import time."""

    bucket: str | None = None
    category_kpi_table: str | None = None
    order_kpi_table: str | None = None
    spark_remote: str | None = None
    max_landing_lag_minutes: float = 30.0

    def settings(self) -> Settings:
        overrides = {
            name: value
            for name, value in {
                "bucket": self.bucket,
                "category_kpi_table": self.category_kpi_table,
                "order_kpi_table": self.order_kpi_table,
                "spark_remote": self.spark_remote,
            }.items()
            if value is not None
        }
        return replace(Settings.from_env(), **overrides)

    def spark(self):
        return spark_session(self.settings())

    def s3(self):
        return s3_client(self.settings())

    def dynamodb(self):
        return dynamodb_client(self.settings())
