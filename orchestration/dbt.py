"""The dbt project as Dagster assets: one cached DbtProject, dbt tests (source tests too) as asset checks."""

import importlib.metadata
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, NamedTuple

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
    get_asset_key_for_model,
)
from packaging.version import Version
from pyspark.errors import PySparkException

from export.mart_changes import order_dates_recomputed
from ingestion.entities import ENTITIES
from ingestion.raw_tables import raw_table
from orchestration.conventions import BACKFILL_JOB, ORDER_DATES, OWNERS, REBUILD_JOB
from orchestration.dbt_project import dbt_project
from orchestration.failures import service_boundary
from orchestration.metadata import model_metadata
from orchestration.passed_tests import (
    SCOPES_ENV,
    TableState,
    already_passed,
    data_test_scopes,
    load_records,
    model_tables,
    record_passes,
    save_records,
    scoped_tables,
    source_tables,
    table_states,
    tables_written,
)
from orchestration.resources import EcomResource


class EcomDbtTranslator(DagsterDbtTranslator):
    """Groups follow the dbt folders (staging, intermediate, quarantine, marts); sources are the raw group.
    Every model has the project's owners, and tables (not the staging views) are Delta. A model whose dbt
    meta says `partitioned_by: order_date` (the KPI marts) has a partition per order date."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "raw"
        return dbt_resource_props["fqn"][1]

    def get_partitions_def(self, dbt_resource_props: Mapping[str, Any]) -> dg.PartitionsDefinition | None:
        meta = dbt_resource_props.get("config", {}).get("meta", {})
        return ORDER_DATES if meta.get("partitioned_by") == "order_date" else None

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


translator = EcomDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))


class DbtBuildConfig(dg.Config):
    """`full_refresh` rebuilds the incremental models from the raw tables (`ecom rebuild`)."""

    full_refresh: bool = False


def dbt_arguments(
    config: DbtBuildConfig, order_dates: dg.PartitionKeyRange | None, left_out: Sequence[str] = ()
) -> list[str]:
    """A run of a range of order-date partitions (a backfill from the UI or `ecom backfill`) rebuilds the
    marts' rows of those dates from the current-state tables, on top of what changed: dbt gets the first
    and last date as the vars the KPI marts read (dbt_project/macros/kpi_dates.sql).

    `left_out` are the nodes a cycle does not build (nodes_left_out) and the tests that passed on the
    tables as they are (orchestration/passed_tests.py). dbt's indirect selection would
    also drop every test on a left-out model, so it is turned off: the list names each test to leave out.
    That is safe because dagster-dbt selects every node directly (`fqn:*`) when the run builds them all;
    a `select` given to @dbt_assets would lose the tests of the models it selects."""
    arguments = ["build", "--exclude-resource-type", "unit_test"]
    if config.full_refresh:
        arguments.append("--full-refresh")
    if order_dates is not None:
        dates = {"backfill_start": order_dates.start, "backfill_end": order_dates.end}
        arguments += ["--vars", json.dumps(dates)]
    if left_out:
        arguments += ["--exclude", " ".join(left_out), "--indirect-selection", "empty"]
    return arguments


def entity_models(entity: str) -> tuple[str, str, str]:
    """An entity's staging, checked and current-state models, by the project's naming."""
    return f"stg_{entity}", f"int_{entity}__checked", f"int_{entity}__current"


def entity_tables() -> set[str]:
    """The entities' checked and current-state tables (their staging models are views)."""
    return {_table_of(model) for name in ENTITIES for model in entity_models(name)[1:]}


class CycleStart(NamedTuple):
    """What a cycle's build learns from the tables before dbt starts: the entities with nothing new
    (entities_without_new_rows), and the newest raw row's ingestion time, as Spark writes a timestamp,
    through which the key tests that pass will have checked (orchestration/passed_tests.py)."""

    settled: list[str]
    newest_raw: str | None


NOTHING_READ = CycleStart([], None)


def read_cycle_start(spark, states: Mapping[str, TableState | None]) -> CycleStart:
    """One statement for both. The raw tables must be in `states` (table_states); without all of them
    (before a first ingestion) nothing is read."""
    raw = {name: raw_table(entity) for name, entity in ENTITIES.items()}
    if not all(states.get(table) for table in raw.values()):
        return NOTHING_READ
    newest = {f"raw_{name}": table for name, table in raw.items()}
    complete = all(states.get(table) for table in entity_tables())
    if complete:
        newest |= {f"current_{name}": _table_of(entity_models(name)[2]) for name in ENTITIES}
    maxima = ", ".join(f"(select max(_ingested_at) from {table}) as {name}" for name, table in newest.items())
    raw_maxima = ", ".join(f"raw_{name}" for name in ENTITIES)
    row = spark.sql(
        f"select *, cast(greatest({raw_maxima}) as string) as newest_raw from (select {maxima})"
    ).first()
    settled = entities_without_new_rows(row.asDict()) if complete else []
    return CycleStart(settled, row["newest_raw"])


def entities_without_new_rows(newest: Mapping[str, datetime | None]) -> list[str]:
    """The entities whose every raw row their current-state model has taken in: a cycle has nothing to
    build in their staging and intermediate models, a quarter to a third of its statements
    (docs/benchmarks.md). Rows of a cycle are newer than every earlier cycle's, so the newest raw row
    and the newest current row (`raw_<entity>` and `current_<entity>` in `newest`) tell. An entity stays
    unsettled (and is built) while its newest rows are not in the current-state table: new, left by a
    cycle that died in dbt or whose tests failed, or all rejected. An entity that has no raw row yet has
    nothing to build."""
    return [name for name in ENTITIES if _taken_in(newest[f"raw_{name}"], newest[f"current_{name}"])]


def _taken_in(newest_raw: datetime | None, newest_current: datetime | None) -> bool:
    if newest_raw is None:
        return True
    return newest_current is not None and newest_raw <= newest_current


def _table_of(model: str) -> str:
    return ".".join(get_asset_key_for_model([dbt_models], model).path)


def nodes_left_out(manifest: Mapping[str, Any], settled: Sequence[str]) -> list[str]:
    """What a cycle does not build for settled entities: their staging, checked and current-state models,
    and the tests that read only the staging and checked ones. A test that fails there stops the
    current-state model from being built, which keeps its entity unsettled, so the test runs again next
    cycle. The tests on the current-state model are not left out here: one that failed after its model
    merged would otherwise stop blocking the marts, its entity being settled from then on. They are left
    out only once they passed on the table as it is (orchestration/passed_tests.py)."""
    left_out = []
    for entity in settled:
        staging, checked, current = entity_models(entity)
        upstream = [staging, checked]
        ids = {
            uid
            for uid, node in manifest["nodes"].items()
            if node["resource_type"] == "model" and node["name"] in upstream
        }
        tests = [
            node["name"]
            for node in manifest["nodes"].values()
            if node["resource_type"] == "test" and _reads_only(node, ids)
        ]
        left_out += [*upstream, current, *sorted(tests)]
    return left_out


def _reads_only(test: Mapping[str, Any], models: set[str]) -> bool:
    """A test without parents reads tables by name, not through these models."""
    parents = set(test["depends_on"]["nodes"])
    return bool(parents) and parents <= models


def cycle_start(
    context: dg.AssetExecutionContext,
    spark,
    states: Mapping[str, TableState | None],
    config: DbtBuildConfig,
    order_dates: dg.PartitionKeyRange | None,
) -> CycleStart:
    """Only a build of the whole project leaves settled entities out and scopes key tests: an operator
    who picks models in the UI, a rebuild and a backfill get what they asked for, every row tested.
    (A subset is also where dagster-dbt sets its own indirect selection, which dbt_arguments' would
    override.)"""
    if _builds_what_it_selects(context, config, order_dates):
        return NOTHING_READ
    start = read_cycle_start(spark, states)
    if start.settled:
        context.log.info(
            f"nothing new for {', '.join(start.settled)}: their staging and intermediate models, and the "
            "tests on the staging and checked ones, are not built in this cycle"
        )
    return start


def _builds_what_it_selects(
    context: dg.AssetExecutionContext, config: DbtBuildConfig, order_dates: dg.PartitionKeyRange | None
) -> bool:
    return context.is_subset or config.full_refresh or order_dates is not None


def refuse_full_refresh_of_partitions(
    config: DbtBuildConfig, order_dates: dg.PartitionKeyRange | None
) -> None:
    """A full refresh rebuilds every order date, but Dagster would record only the run's partitions as
    rebuilt: such a run (a date picked for marts_rebuild, or full_refresh set on a backfill) stops here,
    before it touches Spark or dbt."""
    if not (config.full_refresh and order_dates is not None):
        return
    dates = (
        order_dates.start
        if order_dates.start == order_dates.end
        else f"{order_dates.start} to {order_dates.end}"
    )
    raise dg.Failure(
        f"full_refresh rebuilds every order date, but this run is for {dates}; nothing was built. To "
        f"rebuild everything, launch {REBUILD_JOB} without a partition; to rebuild those dates, launch "
        f"{BACKFILL_JOB} for them (or this run without full_refresh)."
    )


def order_dates_of(context: dg.AssetExecutionContext) -> dg.PartitionKeyRange | None:
    """The order dates a run rebuilds: the UI launches one date as a run with a partition key, and a
    range as a backfill whose one run has a partition key range. None for a cycle, which has neither."""
    if context.has_partition_key or context.has_partition_key_range:
        return context.partition_key_range
    return None


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    # A backfill of many dates is one dbt build, not one per date.
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def dbt_models(context: dg.AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCli, ecom: EcomResource):
    """dbt build of the models and data tests; unit tests run in the test suite, not in every cycle.

    The marts and quarantine tables get what an operator looks for on top of dbt's own metadata: the
    newest KPI rows, rejections by reason, pending items by cause.
    """
    order_dates = order_dates_of(context)
    refuse_full_refresh_of_partitions(config, order_dates)
    # dbt-spark's session method connects wherever SPARK_REMOTE points; the dbt subprocess inherits it.
    spark_remote = ecom.settings().spark_remote
    os.environ["SPARK_REMOTE"] = spark_remote
    spark = ecom.spark()
    manifest = json.loads(dbt_project.manifest_path.read_text())
    # The tables a cycle may leave as they are: the raw ones, and those of the entities' models; and the
    # tables of the key tests it may scope.
    sources = source_tables(manifest)
    untouchable = sources | entity_tables()
    versioned = untouchable | scoped_tables(manifest)
    with service_boundary(spark_remote):
        spark.sql("SELECT 1").collect()
        states = table_states(spark, versioned | {".".join(key.path) for key in KPI_MARTS})
        # A backfill's run materializes its partitions; a cycle finds out which dates it changed.
        marts_before = {} if order_dates else _kpi_mart_versions(context, states)
        start = cycle_start(context, spark, states, config, order_dates)
    left_out = nodes_left_out(manifest, start.settled) if start.settled else []
    untouched = {table: states[table] for table in sources | model_tables(manifest, left_out)}
    records = load_records(context.instance)
    unchanged = _tests_to_leave_out(context, config, order_dates, manifest, records, untouched)
    left_out += [name for name in unchanged if name not in left_out]
    # Only a cycle scopes key tests; any other run reads every row (cycle_start read no raw time for it).
    _scope_key_tests(context, data_test_scopes(manifest, records, states) if start.newest_raw else {})
    invocation = dbt.cli(dbt_arguments(config, order_dates, left_out), raise_on_error=False, context=context)
    yield from _with_model_metadata(context, spark, invocation.stream())
    before = {table: states[table] for table in versioned}
    _record_test_results(context, spark, spark_remote, manifest, records, invocation, before, start)
    if error := invocation.get_error():
        raise error
    if marts_before:
        yield from _partitions_recomputed_by_the_cycle(context, spark, marts_before)


def _record_test_results(
    context: dg.AssetExecutionContext,
    spark,
    spark_remote: str,
    manifest: Mapping[str, Any],
    records: Mapping[str, Any],
    invocation: DbtCliInvocation,
    before: Mapping[str, TableState | None],
    start: CycleStart,
) -> None:
    """After every build, failed ones too, so that a test that failed loses its record. The tests ran
    on the versions the build left of the tables its models wrote. A dbt that stopped before writing
    its results records nothing: the tables' versions tell the next run what changed."""
    try:
        run_results = invocation.get_artifact("run_results.json")
    except FileNotFoundError:
        return
    with service_boundary(spark_remote):
        written = table_states(spark, set(before) & tables_written(manifest, run_results))
    after = {**before, **written}
    through = {
        table: start.newest_raw
        for table, state in after.items()
        if start.newest_raw and _written_once_at_most(before.get(table), state)
    }
    save_records(context.instance, record_passes(manifest, records, run_results, after, through))


def _written_once_at_most(before: TableState | None, after: TableState | None) -> bool:
    """A build commits once at most to each table (its merge). One more commit means something else
    wrote while it ran: a key test that passed before that write must not record a time its rows could
    hide behind (orchestration/passed_tests.py)."""
    if before is None or after is None:
        return False
    return after == before or after.version == before.version + 1


def _scope_key_tests(context: dg.AssetExecutionContext, scopes: Mapping[str, Mapping[str, str]]) -> None:
    """The dbt process this run starts inherits the scopes (dbt_project/macros/scoped_tests.sql); a run
    without any must not inherit an earlier run's from this process."""
    os.environ[SCOPES_ENV] = json.dumps(scopes, sort_keys=True)
    if scopes:
        context.log.info(
            f"{len(scopes)} key test(s) read only the rows written since they last passed in a cycle "
            "(`dbt test` reads every row)"
        )


def _tests_to_leave_out(
    context: dg.AssetExecutionContext,
    config: DbtBuildConfig,
    order_dates: dg.PartitionKeyRange | None,
    manifest: Mapping[str, Any],
    records: Mapping[str, Any],
    untouched: Mapping[str, TableState | None],
) -> list[str]:
    """A cycle that builds the whole project leaves out the tests that passed on the tables it leaves
    untouched, as they are (orchestration/passed_tests.py); a run that picks assets, a rebuild and a
    backfill run every test they select."""
    if _builds_what_it_selects(context, config, order_dates):
        return []
    unchanged = already_passed(manifest, records, untouched)
    if unchanged:
        context.log.info(
            f"{len(unchanged)} data test(s) not run: each passed with its present code on the tables it "
            "reads, which this cycle leaves as they are"
        )
    return unchanged


RECOMPUTED_BY_A_CYCLE = "KPI rows of this order date recomputed by a cycle"

# The models partitioned by order date (dbt meta `partitioned_by: order_date`).
KPI_MARTS = [spec.key for spec in dbt_models.specs if spec.partitions_def is not None]


def _kpi_mart_versions(
    context: dg.AssetExecutionContext, states: Mapping[str, TableState | None]
) -> dict[dg.AssetKey, int | None]:
    """The Delta version of every KPI mart this run builds, before dbt starts."""
    versions = {key: states[".".join(key.path)] for key in context.selected_asset_keys if key in KPI_MARTS}
    return {key: state.version if state else None for key, state in versions.items()}


def _partitions_recomputed_by_the_cycle(
    context: dg.AssetExecutionContext, spark, versions_before: Mapping[dg.AssetKey, int | None]
) -> Iterator[dg.AssetMaterialization]:
    """A cycle runs without a partition and recomputes whichever order dates its changes touch: Dagster
    hears of each date it recomputed as a materialization of that partition of the mart, so the mart's
    partitions in the UI show the dates computed. The marts are committed by now: a failure to read
    the dates only leaves them unreported, it does not fail the cycle."""
    started = time.monotonic()
    try:
        recomputed = {
            key: order_dates_recomputed(spark, ".".join(key.path), version)
            for key, version in versions_before.items()
        }
    except PySparkException as error:
        context.log.warning(
            f"could not read which order dates the KPI marts recomputed ({str(error).splitlines()[0]}); "
            "the marts are built, only their partitions in the UI miss this cycle's dates"
        )
        return
    partitions = set(ORDER_DATES.get_partition_keys())
    for key, days in recomputed.items():
        shown = [day for day in days if day in partitions]
        if len(shown) < len(days):
            context.log.warning(
                f"{key.to_user_string()}: {len(days) - len(shown)} recomputed order date(s) are not "
                "partitions (before the first one or after today, ORDER_DATES) and are not reported"
            )
        for day in shown:
            yield dg.AssetMaterialization(asset_key=key, partition=day, description=RECOMPUTED_BY_A_CYCLE)
    total = sum(len(days) for days in recomputed.values())
    context.log.info(
        f"{total} KPI mart partition(s) recomputed by this cycle "
        f"(read from the marts' change feed in {time.monotonic() - started:.1f}s)"
    )


def _with_model_metadata(context: dg.AssetExecutionContext, spark, events: Iterator) -> Iterator:
    for event in events:
        if isinstance(event, dg.Output):
            extra = model_metadata(spark, context.asset_key_for_output(event.output_name))
            if extra:
                event = event.with_metadata({**event.metadata, **extra})
        yield event
