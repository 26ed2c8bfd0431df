"""Data tests that already passed on the tables as they are are not run again.

A data test's outcome depends only on its code and on the rows of the tables it reads, and every commit
to a Delta table gives it a new version. So a test that passed (or warned) when each table it reads was at
its present version, with the code it has now, would pass (or warn) again: running it again only costs
the Spark server a scan of those tables, which grows with the history.

Whether a table keeps its version must be known before dbt starts, so only tables no model of the build
writes qualify: the raw tables and those of the models a cycle leaves out (a settled entity's). A test on
a table the build writes always runs (docs/design.md, "Tests on tables a cycle does not touch").

What is recorded is only that: a test's code, and the version of each table it read, when it passed or
warned. A test that failed loses its record, so it runs (and blocks what it guards) until it passes.
Records live in the Dagster instance beside the sensors' cursors; a lost record only means a test runs.

A key test that runs again need not read every row either (data_test_scopes): when, since it last
passed in a cycle, only that cycle's merge and the coming build write its table, the rows it must read
are those newer than the newest raw row when that cycle's build started (docs/design.md, "Key tests on
the rows a cycle wrote", says why and when it reads every row instead).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

from pyspark.errors import AnalysisException

RECORDS_KEY = "ecom/data_tests_passed_on"
# Where dbt's spark__get_where_subquery finds a cycle's scopes (dbt_project/macros/scoped_tests.sql).
SCOPES_ENV = "ECOM_DATA_TEST_SCOPES"
SCOPE_META = "scope_key_tests_by"
KEY_TESTS = {"unique", "not_null", "unique_combination"}
# Concurrent DESCRIBE HISTORY statements: each is mostly a round trip to the server and a read of the
# table's Delta log there.
READERS = 8


class TableState(NamedTuple):
    """A table's newest commit. The time tells two tables apart that reached one version number: one
    dropped and created again, or a warehouse started afresh."""

    version: int
    committed_at: str

    def __str__(self) -> str:
        return f"{self.version}@{self.committed_at}"


def table_states(spark, tables: Iterable[str]) -> dict[str, TableState | None]:
    """The newest commit of each table (None while it does not exist), the statements sent side by side:
    one after another they took 2.5 s for 17 tables, together 1.5 s."""
    tables = sorted(set(tables))
    with ThreadPoolExecutor(READERS) as readers:
        return dict(zip(tables, readers.map(lambda table: _newest_commit(spark, table), tables), strict=True))


def _newest_commit(spark, table: str) -> TableState | None:
    try:
        row = spark.sql(f"DESCRIBE HISTORY {table} LIMIT 1").first()
    except AnalysisException as error:
        if "NOT_FOUND" in (error.getCondition() or ""):
            return None
        raise
    return TableState(int(row["version"]), row["timestamp"].isoformat())


def data_tests(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "test"}


def tables_read(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> set[str]:
    """The tables a test's rows come from: its models and sources, a view followed to what it reads."""
    return _inputs(manifest, test)[0]


def _inputs(manifest: Mapping[str, Any], node: Mapping[str, Any]) -> tuple[set[str], list[str]]:
    """Tables read, and the checksums of the views in between (a view's code decides the rows a test
    sees of the tables under it)."""
    tables: set[str] = set()
    views: list[str] = []
    for uid in node["depends_on"]["nodes"]:
        parent = manifest["sources"].get(uid) or manifest["nodes"][uid]
        if parent["resource_type"] == "model" and parent["config"]["materialized"] in ("view", "ephemeral"):
            under, between = _inputs(manifest, parent)
            tables |= under
            views += [parent["checksum"]["checksum"], *between]
        else:
            tables.add(parent["relation_name"])
    return tables, sorted(views)


def code_digest(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> str:
    """A digest of everything that decides a test's outcome but its tables' rows: dbt's version, the
    test's own code and configuration, the project's macros (generic tests and parsing), the views it
    reads through, and the code of the model it is attached to."""
    project_macros = sorted(
        (uid, macro["macro_sql"])
        for uid, macro in manifest["macros"].items()
        if macro["package_name"] == test["package_name"]
    )
    tested = manifest["nodes"].get(test.get("attached_node") or "")
    code = [
        manifest["metadata"]["dbt_version"],
        test["raw_code"],
        test.get("test_metadata"),
        test["config"],
        project_macros,
        _inputs(manifest, test)[1],
        # A key test's scope rests on what its model's merge inserts (data_test_scopes).
        tested["checksum"]["checksum"] if tested else None,
    ]
    return hashlib.sha256(json.dumps(code, sort_keys=True, default=str).encode()).hexdigest()


def already_passed(
    manifest: Mapping[str, Any], records: Mapping[str, Any], states: Mapping[str, TableState | None]
) -> list[str]:
    """The names of the tests recorded as passed with their present code on every table they read, each
    in `states` as the tests will find it. A test that reads a table missing from `states`, or none
    through dbt (a test without parents names its tables itself), always runs."""
    unchanged = []
    for uid, test in data_tests(manifest).items():
        record = records.get(uid)
        tables = tables_read(manifest, test)
        if not (record and tables) or record["code"] != code_digest(manifest, test):
            continue
        now = {table: states.get(table) for table in tables}
        if all(now.values()) and record["tables"] == {table: str(state) for table, state in now.items()}:
            unchanged.append(test["name"])
    return sorted(unchanged)


def record_passes(
    manifest: Mapping[str, Any],
    records: Mapping[str, Any],
    run_results: Mapping[str, Any],
    states: Mapping[str, TableState | None],
    through: Mapping[str, str],
) -> dict[str, Any]:
    """The records after a dbt invocation: a test that passed or warned is recorded on `states` (the
    tables as its run left them) when they hold every table it read; a key test also with the time
    `through` gives its table (absent: none, so its next run reads every row). One that failed or
    errored, or read a table `states` does not hold, loses its record; one that did not run keeps its
    own."""
    tests = data_tests(manifest)
    keyed = key_tests(manifest)
    updated = dict(records)
    for result in run_results["results"]:
        uid = result["unique_id"]
        if uid not in tests or result["status"] == "skipped":
            continue
        read = {table: states.get(table) for table in tables_read(manifest, tests[uid])}
        if result["status"] in ("pass", "warn") and read and all(read.values()):
            updated[uid] = {
                "code": code_digest(manifest, tests[uid]),
                "tables": {table: str(state) for table, state in read.items()},
                "through": through.get(keyed[uid][0]) if uid in keyed else None,
            }
        else:
            updated.pop(uid, None)
    return updated


def key_tests(manifest: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """The tests that may read only the rows a cycle wrote, each with its table and the model's
    `scope_key_tests_by` column: of a model merged on its unique key, `not_null` on a column of the
    key, and `unique` or `unique_combination` on the whole key (on part of it, an inserted row can
    repeat an older row's part). Only tests of severity error: a warning would turn into a pass once
    the rows it warned of are out of scope."""
    scoped = {}
    for uid, test in data_tests(manifest).items():
        model = manifest["nodes"].get(test.get("attached_node") or "")
        column = model["config"].get("meta", {}).get(SCOPE_META) if model else None
        metadata = test.get("test_metadata") or {}
        severe = test["config"]["severity"].lower() == "error"
        if not (column and severe and metadata.get("name") in KEY_TESTS):
            continue
        columns, key = _columns_tested(test, metadata), _merge_key(model)
        if columns == key or (metadata["name"] == "not_null" and columns <= key):
            scoped[uid] = (model["relation_name"], column)
    return scoped


def _columns_tested(test: Mapping[str, Any], metadata: Mapping[str, Any]) -> set[str]:
    """`unique_combination` names its columns; `unique` and `not_null` test the column they sit on."""
    return set(metadata.get("kwargs", {}).get("columns") or [test["column_name"]])


def _merge_key(model: Mapping[str, Any]) -> set[str]:
    """The columns a model is merged on; a model with the scope meta must be merged on some."""
    config = model["config"]
    key = config.get("unique_key")
    keys = {key} if isinstance(key, str) else set(key or [])
    merged = config["materialized"] == "incremental" and config.get("incremental_strategy") == "merge"
    if not (keys and merged):
        raise ValueError(f"{model['name']}: {SCOPE_META} is only for a model merged on its unique_key")
    return keys


def data_test_scopes(
    manifest: Mapping[str, Any], records: Mapping[str, Any], states: Mapping[str, TableState | None]
) -> dict[str, dict[str, str]]:
    """For the key tests recorded as passed in a cycle, with their present code, on their table at the
    version `states` (read before the build) holds: the rows to read, those whose column is newer than
    the record's `through`. The unique ids are the dbt test nodes'."""
    tests = data_tests(manifest)
    scopes = {}
    for uid, (table, column) in key_tests(manifest).items():
        record = records.get(uid) or {}
        state = states.get(table)
        if not (record.get("through") and state) or record["tables"].get(table) != str(state):
            continue
        if record["code"] == code_digest(manifest, tests[uid]):
            scopes[uid] = {"column": column, "after": record["through"]}
    return scopes


def scoped_tables(manifest: Mapping[str, Any]) -> set[str]:
    """The tables of the key tests a cycle may scope: their versions must be known before and after it."""
    return {table for table, _ in key_tests(manifest).values()}


def tables_written(manifest: Mapping[str, Any], run_results: Mapping[str, Any]) -> set[str]:
    """The tables of the models an invocation ran, built or failed: the only ones whose version it may
    have moved."""
    return {
        manifest["nodes"][result["unique_id"]]["relation_name"]
        for result in run_results["results"]
        if result["unique_id"].startswith("model.") and result["status"] != "skipped"
    }


def source_tables(manifest: Mapping[str, Any]) -> set[str]:
    """What dbt reads and never writes: the raw tables and the file ledger."""
    return {source["relation_name"] for source in manifest["sources"].values()}


def model_tables(manifest: Mapping[str, Any], names: Iterable[str]) -> set[str]:
    """The tables (not views) of the models of these names."""
    names = set(names)
    return {
        node["relation_name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["name"] in names
        and node["config"]["materialized"] not in ("view", "ephemeral")
    }


def load_records(instance) -> dict[str, Any]:
    stored = instance.daemon_cursor_storage.get_cursor_values({RECORDS_KEY}).get(RECORDS_KEY)
    return json.loads(stored) if stored else {}


def save_records(instance, records: Mapping[str, Any]) -> None:
    instance.daemon_cursor_storage.set_cursor_values({RECORDS_KEY: json.dumps(records, sort_keys=True)})
