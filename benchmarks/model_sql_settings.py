"""A session setting against the server's own, where the rows are: the full-refresh SQL of the given models,
every column computed (a `noop` write), the two sides alternated round after round on the running server.
`server_settings.py` screens settings on builds with nothing new, where every statement is small; this
shows what the same setting costs on a large warehouse (docs/benchmarks.md, "Expression code generation
off, again (session 19)").

    eval "$(.venv/bin/ecom services env)"   # or the services of a `make bench` state
    .venv/bin/python -m benchmarks.model_sql_settings --rounds 4 \\
        --setting spark.sql.codegen.factoryMode=NO_CODEGEN int_order_items__checked fct_order_items
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.common import alternating_rounds
from ingestion.settings import PROJECT_ROOT, Settings, spark_session
from orchestration.dbt_project import DBT_EXECUTABLE

log = logging.getLogger("model_sql_settings")


def full_refresh_sql(models: list[str]) -> dict[str, str]:
    """Each model's SQL as `ecom rebuild` runs it, compiled by dbt against the running server."""
    with tempfile.TemporaryDirectory() as target:
        subprocess.run(
            [
                DBT_EXECUTABLE,
                "compile",
                "--quiet",
                "--full-refresh",
                "--target-path",
                target,
                "--select",
                *models,
            ],
            cwd=PROJECT_ROOT,
            capture_output=True,
            check=True,
        )
        return {model: next(Path(target).rglob(f"compiled/**/{model}.sql")).read_text() for model in models}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--setting", required=True, help="key=value, set for the session")
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    key, value = args.setting.split("=", 1)
    spark = spark_session(Settings.from_env())
    sql = full_refresh_sql(args.models)

    def run_models(side: str, setting: str | None) -> None:
        if setting is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, setting)
        for model, text in sql.items():
            started = time.monotonic()
            spark.sql(text).write.format("noop").mode("overwrite").save()
            log.info("  %-45s %-28s %6.1f s", side, model, time.monotonic() - started)

    sides = {"server's own": spark.conf.get(key, None), args.setting: value}
    variants = {
        side: lambda side=side, setting=setting: run_models(side, setting) for side, setting in sides.items()
    }
    for round_number, seconds in enumerate(alternating_rounds(variants, args.rounds), 1):
        log.info("round %d: %s", round_number, ", ".join(f"{side} {s:.1f} s" for side, s in seconds.items()))


if __name__ == "__main__":
    main()
