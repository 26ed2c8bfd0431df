"""Spark server settings screened against a cycle's fixed cost: for each variant, the Spark server of the
running local services is restarted with the variant's extra `--conf`s, and `dbt build` runs several times
with nothing new landed. A build with nothing new is the part of a tiny cycle that is all fixed cost, and
the same statements each time, so the server's CPU-seconds per build compare settings far more steadily
than whole cycles do (docs/benchmarks.md, "Spark server settings, screened").

    make demo   # services up, the lab data in the warehouse
    eval "$(.venv/bin/ecom services env)"
    .venv/bin/python benchmarks/server_settings.py --builds 5 \\
        as-now \\
        "memory-only spark.databricks.delta.snapshotCache.storageLevel=MEMORY_ONLY"

A variant is a name followed by `key=value` settings; `spark.driver.extraJavaOptions` is appended to the
project's own. The first builds after a restart warm the JVM up: the summary counts only the last half.
It leaves the server running with the project's own settings.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path

from cycle_profile import CLOCK_TICKS, cpu_seconds_while

from ingestion.settings import PROJECT_ROOT, Settings
from orchestration.services import LocalServices, Service, _port_open

DBT_BUILD = [
    str(PROJECT_ROOT / ".venv/bin/dbt"),
    "build",
    "--exclude-resource-type",
    "unit_test",
    "--project-dir",
    str(PROJECT_ROOT),
    "--profiles-dir",
    str(PROJECT_ROOT),
    "--quiet",
]
EXTRA_JAVA_OPTIONS = "spark.driver.extraJavaOptions"


@dataclass(frozen=True)
class Variant:
    name: str
    conf: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, *settings = text.split()
        return cls(name, dict(setting.split("=", 1) for setting in settings))


def jit_cpu_seconds(pgid: int) -> float:
    """CPU of the JIT compiler threads of the group's processes so far: Spark generates and loads new
    classes for each new query, which the JVM then compiles."""
    ticks = 0
    for task in Path("/proc").glob("[0-9]*/task/[0-9]*"):
        try:
            if int((task.parent.parent / "stat").read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            if "CompilerThre" not in (task / "comm").read_text():
                continue
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def spark_service(local: LocalServices, variant: Variant) -> Service:
    spark = next(s for s in local.services(Settings.from_env()) if s.name == "spark")
    command = list(spark.command)
    for key, value in variant.conf.items():
        if key == EXTRA_JAVA_OPTIONS:
            index = next(i for i, arg in enumerate(command) if arg.startswith(f"{EXTRA_JAVA_OPTIONS}="))
            command[index] += f" {value}"
        else:
            command += ["--conf", f"{key}={value}"]
    return replace(spark, command=command)


def restart_spark(local: LocalServices, variant: Variant) -> int:
    """The server's pid, which is its process group too."""
    spark = spark_service(local, variant)
    pid = local._pid(spark)
    if pid is not None:
        os.killpg(pid, signal.SIGTERM)
    while _port_open(local.host, local.spark_port):
        time.sleep(0.5)
    env = {k: v for k, v in {**os.environ, **local.client_env()}.items() if k != "SPARK_REMOTE"}
    local._launch(spark, {**env, **spark.extra_env})
    local._await_healthy(spark)
    return local._pid(spark)


def timed_build() -> tuple[float, float]:
    wall, cpu, code = cpu_seconds_while(DBT_BUILD, every_second=False)
    if code:
        raise SystemExit(f"dbt build failed ({code}); its log: logs/dbt.log")
    return wall, cpu["spark"]


def screen(local: LocalServices, variant: Variant, builds: int) -> dict:
    pgid = restart_spark(local, variant)
    walls, cpus = [], []
    for _ in range(builds):
        wall, cpu = timed_build()
        walls.append(round(wall, 1))
        cpus.append(round(cpu, 1))
    steady = slice(builds // 2, None)
    result = {
        "variant": variant.name,
        "conf": variant.conf,
        "build_seconds": walls,
        "server_cpu_seconds": cpus,
        "steady_build_seconds": round(sum(walls[steady]) / len(walls[steady]), 1),
        "steady_server_cpu_seconds": round(sum(cpus[steady]) / len(cpus[steady]), 1),
        "jit_cpu_seconds": round(jit_cpu_seconds(pgid), 1),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", type=Variant.parse, help='"name key=value ..."')
    parser.add_argument("--builds", type=int, default=5)
    args = parser.parse_args()
    local = LocalServices()
    try:
        for variant in args.variants:
            screen(local, variant, args.builds)
    finally:
        restart_spark(local, Variant("as-now", {}))


if __name__ == "__main__":
    main()
