"""One SQL statement, run many times through the Spark server SPARK_REMOTE names: under
`benchmarks/cycle_profile.py`, what a single statement costs the server, and with `--jfr` where it goes
(docs/benchmarks.md, "What one statement costs the server").

    eval "$(.venv/bin/ecom services env)"
    .venv/bin/python benchmarks/cycle_profile.py -- \\
        .venv/bin/python benchmarks/repeat_query.py 20 "select count(*) from intermediate.int_orders__current"

The server's CPU divided by the number of runs is the statement's cost; the first such command on a server
also pays for the JVM compiling the code it runs, so measure the second.
"""

from __future__ import annotations

import argparse

from ingestion.settings import Settings, spark_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("times", type=int)
    parser.add_argument("statement")
    args = parser.parse_args()
    spark = spark_session(Settings.from_env())
    for _ in range(args.times):
        spark.sql(args.statement).collect()


if __name__ == "__main__":
    main()
