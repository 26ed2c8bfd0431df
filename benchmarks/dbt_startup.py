"""What dagster-dbt's resource adds before dbt starts, the same small dbt command (`dbt ls` of one model,
no warehouse needed) invoked through dagster-dbt's own DbtCliResource and through the pipeline's DbtCli
(orchestration/dbt.py), alternated. Each figure is a whole invocation, in seconds.

    .venv/bin/python benchmarks/dbt_startup.py [rounds]
"""

from __future__ import annotations

import sys
import time

from dagster_dbt import DbtCliResource

from orchestration.dbt import DbtCli
from orchestration.dbt_project import DBT_EXECUTABLE, dbt_project

COMMAND = ["ls", "--select", "order_kpis", "--resource-type", "model"]


def invocation_seconds(resource_class: type[DbtCliResource]) -> float:
    """A fresh resource each time, as each Dagster run gets one."""
    started = time.perf_counter()
    resource = resource_class(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
    if not resource.cli(COMMAND, manifest=dbt_project.manifest_path).wait().is_successful():
        raise SystemExit(f"`dbt {' '.join(COMMAND)}` failed through {resource_class.__name__}")
    return time.perf_counter() - started


def main(rounds: int) -> None:
    """Alternated, and each round in the other order, so neither side always pays the first imports."""
    for round_number in range(1, rounds + 1):
        order = (DbtCliResource, DbtCli) if round_number % 2 else (DbtCli, DbtCliResource)
        for resource_class in order:
            seconds = invocation_seconds(resource_class)
            print(f"round {round_number} {resource_class.__name__:15} {seconds:5.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
