"""What a cycle's data tests cost its dbt build: the build a cycle ran, again, with and without its tests,
alternated, with the Spark server's CPU of each (docs/benchmarks.md, "What a tiny cycle cannot lose").

    eval "$(.venv/bin/ecom services env)"        # or the env of the services whose warehouse to measure
    .venv/bin/python -m benchmarks.tests_share target/dbt_models-<the cycle's run>/run_results.json

The cycle's selection (the models and tests it left out) comes from its run_results.json. Run it after
that cycle, with nothing landed since: both builds then find nothing new, so they measure what the
statements cost, not rows.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import alternating_rounds
from benchmarks.cycle_profile import cpu_seconds_while, dbt_build_command

log = logging.getLogger("tests_share")
WITHOUT_TESTS = ["--exclude-resource-type", "test"]


def cycle_build(run_results: Path) -> list[str]:
    """The `dbt build` command of the cycle that wrote `run_results`, with what it left out."""
    return dbt_build_command(json.loads(run_results.read_text())["args"].get("exclude") or [])


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_results", type=Path, help="run_results.json of the cycle's dbt invocation")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    build = cycle_build(args.run_results)
    server_cpu: dict[str, float] = {}

    def timed(name: str, command: list[str]) -> Callable[[], None]:
        def run() -> None:
            _, cpu, code = cpu_seconds_while(command, every_second=False)
            if code:
                raise SystemExit(f"{name}: dbt build failed ({code}); its log: logs/dbt.log")
            server_cpu[name] = cpu["spark"]

        return run

    variants = {"with tests": timed("with tests", build), "without": timed("without", build + WITHOUT_TESTS)}
    for number, seconds in enumerate(alternating_rounds(variants, args.rounds), 1):
        for name in variants:
            log.info("round %d, %s: %.1f s, server %.1f CPU-s", number, name, seconds[name], server_cpu[name])


if __name__ == "__main__":
    main()
