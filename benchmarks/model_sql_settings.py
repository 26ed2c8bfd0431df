"""A session setting against the server's own, on the heaviest model SQL of a large warehouse: the
full-refresh SQL of the given models, every column computed (a `noop` write), each round both ways, in
turn first. `server_settings.py` screens settings on builds with nothing new, where every statement is
small; this shows what the same setting costs where the rows are (docs/benchmarks.md, "Expression code
generation off, again (session 19)").

    eval "$(.venv/bin/ecom services env)"   # or the services of a `make bench` state
    .venv/bin/dbt compile --full-refresh --select int_order_items__checked fct_order_items \\
        --target-path /tmp/compiled --project-dir . --profiles-dir .
    .venv/bin/python benchmarks/model_sql_settings.py --compiled /tmp/compiled/compiled --rounds 3 \\
        --setting spark.sql.codegen.factoryMode=NO_CODEGEN int_order_items__checked fct_order_items
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pyspark.sql import SparkSession


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compiled", type=Path, required=True, help="dbt's compiled/ folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--setting", required=True, help="key=value, set for the session")
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    key, value = args.setting.split("=", 1)

    spark = SparkSession.builder.getOrCreate()
    default = spark.conf.get(key, None)
    sql = {model: next(args.compiled.rglob(f"{model}.sql")).read_text() for model in args.models}
    sides = [("server's own", default), (args.setting, value)]
    for round_number in range(1, args.rounds + 1):
        for name, side_value in sides if round_number % 2 else reversed(sides):
            if side_value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, side_value)
            for model, text in sql.items():
                start = time.monotonic()
                spark.sql(text).write.format("noop").mode("overwrite").save()
                seconds = time.monotonic() - start
                print(f"round {round_number}  {name:45} {model:28} {seconds:6.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
