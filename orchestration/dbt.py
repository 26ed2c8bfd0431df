"""The dbt project as Dagster assets: one cached DbtProject, dbt tests (source tests too) as asset checks."""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.dbt_project import dbt_project
from orchestration.failures import service_boundary
from orchestration.resources import EcomResource

CYCLE_POOL = "ecom_cycle"


class EcomDbtTranslator(DagsterDbtTranslator):
    """Groups follow the dbt folders (staging, intermediate, quarantine, marts); sources are the raw group."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "raw"
        return dbt_resource_props["fqn"][1]


translator = EcomDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=CYCLE_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, ecom: EcomResource):
    """dbt build of the models and data tests; unit tests run in the test suite, not in every cycle."""
    # dbt-spark's session method connects wherever SPARK_REMOTE points; the dbt subprocess inherits it.
    spark_remote = ecom.settings().spark_remote
    os.environ["SPARK_REMOTE"] = spark_remote
    with service_boundary(spark_remote):
        ecom.spark().sql("SELECT 1").collect()
    yield from dbt.cli(["build", "--exclude-resource-type", "unit_test"], context=context).stream()
