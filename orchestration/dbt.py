"""The dbt project as Dagster assets: one cached DbtProject, dbt tests (source tests too) as asset checks."""

import importlib.metadata
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from functools import cached_property
from typing import Any

import dagster as dg
import pydantic
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from packaging.version import Version

from orchestration.conventions import OWNERS
from orchestration.dbt_project import dbt_project
from orchestration.failures import service_boundary
from orchestration.metadata import model_metadata
from orchestration.resources import EcomResource


class EcomDbtTranslator(DagsterDbtTranslator):
    """Groups follow the dbt folders (staging, intermediate, quarantine, marts); sources are the raw group.
    Every model has the project's owners, and tables (not the staging views) are Delta."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "raw"
        return dbt_resource_props["fqn"][1]

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        materialized = self.get_resource_props(manifest, unique_id).get("config", {}).get("materialized")
        kinds = {"delta"} if materialized in ("table", "incremental") else set()
        return spec.replace_attributes(owners=OWNERS).merge_attributes(kinds=kinds)


class DbtCli(DbtCliResource):
    """dagster-dbt's dbt resource without two start-up costs it pays on every invocation, about 3 s of
    every cycle here (docs/benchmarks.md, "dbt start-up"): `dbt --version` in a subprocess, to learn the
    version of the dbt-core installed beside this interpreter (whose dbt the resource runs), and an
    in-process dbt adapter, which dagster-dbt needs only for `fetch_row_counts` and
    `fetch_column_metadata` (they would return nothing here); the assets read their metadata from the
    Spark server instead."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

translator = EcomDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))


class DbtBuildConfig(dg.Config):
    """`full_refresh` rebuilds the incremental models from the raw tables (`ecom rebuild`);
    `backfill_start`/`backfill_end` (YYYY-MM-DD, both or neither) rebuild the marts' rows of those order
    dates from the current-state tables on top of what changed (`ecom backfill`).

    The dates are checked when the run starts, whether typed in the Launchpad or given to `ecom backfill`:
    a bad date fails the run before dbt starts, with the reason, and changes nothing."""

    full_refresh: bool = False
    backfill_start: str | None = None
    backfill_end: str | None = None

    @pydantic.model_validator(mode="after")
    def _backfill_dates_are_a_range(self) -> "DbtBuildConfig":
        check_backfill_range(self.backfill_start, self.backfill_end)
        return self

    def dbt_arguments(self) -> list[str]:
        arguments = ["build", "--exclude-resource-type", "unit_test"]
        if self.full_refresh:
            arguments.append("--full-refresh")
        if self.backfill_start is not None and self.backfill_end is not None:
            dates = {"backfill_start": self.backfill_start, "backfill_end": self.backfill_end}
            arguments += ["--vars", json.dumps(dates)]
        return arguments


def check_backfill_range(
    start: str | None, end: str | None, names: tuple[str, str] = ("backfill_start", "backfill_end")
) -> None:
    """Both or neither, each a calendar date written YYYY-MM-DD (the form dbt puts in its date literals),
    the end not before the start. `names` are what the user typed them as, for the message."""
    if (start is None) != (end is None):
        raise ValueError(f"give both {names[0]} and {names[1]} (YYYY-MM-DD), or neither")
    if start is not None and end is not None:
        first, last = _iso_date(names[0], start), _iso_date(names[1], end)
        if last < first:
            raise ValueError(f"{names[1]} {last} is before {names[0]} {first}")


def _iso_date(name: str, text: str) -> date:
    try:
        if ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"{name} {text!r} is not a date in the form YYYY-MM-DD")


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
)
def dbt_models(context: dg.AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCli, ecom: EcomResource):
    """dbt build of the models and data tests; unit tests run in the test suite, not in every cycle.

    The marts and quarantine tables get what an operator looks for on top of dbt's own metadata: the
    newest KPI rows, rejections by reason, pending items by cause.
    """
    # dbt-spark's session method connects wherever SPARK_REMOTE points; the dbt subprocess inherits it.
    spark_remote = ecom.settings().spark_remote
    os.environ["SPARK_REMOTE"] = spark_remote
    spark = ecom.spark()
    with service_boundary(spark_remote):
        spark.sql("SELECT 1").collect()
    events = dbt.cli(config.dbt_arguments(), context=context)
    yield from _with_model_metadata(context, spark, events.stream())


def _with_model_metadata(context: dg.AssetExecutionContext, spark, events: Iterator) -> Iterator:
    for event in events:
        if isinstance(event, dg.Output):
            extra = model_metadata(spark, context.asset_key_for_output(event.output_name))
            if extra:
                event = event.with_metadata({**event.metadata, **extra})
        yield event
