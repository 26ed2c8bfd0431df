"""Ingestion of one delivery as two checkouts of the project run it, alternated on the same services: every
run uploads the delivery again (new landing times, so a new delivery; two uploads per round) and times
`ingest_landing` of one checkout in a process of its own (docs/benchmarks.md, "Row counts from the write").

    eval "$(.venv/bin/ecom services env)"        # or the env of other running services
    .venv/bin/python -m benchmarks.ingestion_checkouts ../before . benchmarks/.state/data/delivery-01

Every run adds the delivery's rows to the raw tables once more; use services whose warehouse you can
throw away.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import alternating_rounds

log = logging.getLogger("ingestion_checkouts")


# Run with the checkout first on the import path, so it imports that checkout's ingestion code.
INGEST_ONCE = """
import json, sys, time, uuid
from datetime import UTC, datetime
from pathlib import Path
import ingestion
from ingestion.landing import upload_directory
from ingestion.raw_tables import Cycle, ingest_landing
from ingestion.settings import Settings, s3_client, spark_session

settings = Settings.from_env()
s3, spark = s3_client(settings), spark_session(settings)
upload_directory(s3, settings.bucket, Path(sys.argv[1]))
started = time.monotonic()
result = ingest_landing(spark, s3, settings.bucket, Cycle(uuid.uuid4().hex, datetime.now(UTC)))
print(json.dumps({"seconds": time.monotonic() - started, "rows": result.rows_by_entity,
                  "code": ingestion.__file__}))
"""


def in_checkout(checkout: Path, delivery: Path) -> float:
    """Seconds of one ingestion by `checkout`'s code, in a process of its own, whose errors show."""
    done = subprocess.run(
        [sys.executable, "-c", INGEST_ONCE, str(delivery)],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    log.info("%s: %.1f s, rows %s", answer["code"], answer["seconds"], answer["rows"])
    return answer["seconds"]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("delivery", type=Path, help="a folder of landing/ paths: <entity>/<file>")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    seconds = {name: 0.0 for name in checkouts}

    def timed(name: str) -> Callable[[], None]:
        def run() -> None:
            seconds[name] = in_checkout(checkouts[name], args.delivery.resolve())

        return run

    # The rounds' own clocks also hold starting the interpreter and the upload; report ingestion alone.
    rounds = alternating_rounds({name: timed(name) for name in checkouts}, args.rounds)
    for number, _ in enumerate(rounds, 1):
        log.info("round %d: before %.1f s, after %.1f s", number, seconds["before"], seconds["after"])


if __name__ == "__main__":
    main()
