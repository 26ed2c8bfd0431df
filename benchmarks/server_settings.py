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

It works on the services of the default ports, as `make demo` starts them. A variant is a name followed
by `key=value` settings; `spark.driver.extraJavaOptions` is appended to the project's own. The first
builds after a restart warm the JVM up: the steady figures count only the builds after the first half
(3 to 5 of 5). The server's CPU in all includes its start. At the end the server runs with the project's
own settings again; if the script is killed, run `ecom services stop` (the variant's server keeps the
service's pid file, so `ecom services start` would keep it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from cycle_profile import CLOCK_TICKS, cpu_seconds_while, dbt_build_command

from ingestion.settings import Settings
from orchestration.services import LocalServices, Service, _port_open, _terminate_groups

# The build of a cycle in which every entity brought rows (no model left out).
DBT_BUILD = dbt_build_command()
EXTRA_JAVA_OPTIONS = "spark.driver.extraJavaOptions"


@dataclass(frozen=True)
class Variant:
    """A name and the settings added to the server's command line (values without spaces)."""

    name: str
    conf: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, *settings = text.split()
        return cls(name, dict(setting.split("=", 1) for setting in settings))


def cpu_seconds(pid: int) -> tuple[float, float]:
    """The server's CPU since it started, and its JIT compiler threads' share: Spark generates and loads
    new classes for each new query, which the JVM then compiles. spark-submit execs the JVM, so the
    service's pid is the JVM's; the compiler threads live as long as it does."""
    jit_ticks = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that ended since the listing
            if "CompilerThre" in (task / "comm").read_text():
                jit_ticks += stat_ticks(task / "stat")
    return stat_ticks(Path(f"/proc/{pid}/stat")) / CLOCK_TICKS, jit_ticks / CLOCK_TICKS


def stat_ticks(stat: Path) -> int:
    """User and system clock ticks; a process's count includes its threads that have ended."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def spark_service(local: LocalServices, variant: Variant) -> Service:
    """The project's own server command with the variant's settings on top."""
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
    """The new server's pid. The old server must be gone first: its embedded Derby admits one JVM."""
    spark = spark_service(local, variant)
    if (old := local._pid(spark)) is not None:
        _terminate_groups([old])
    await_port_closed(local)
    env = {k: v for k, v in {**os.environ, **local.client_env()}.items() if k != "SPARK_REMOTE"}
    local._launch(spark, {**env, **spark.extra_env})
    local._await_healthy(spark)
    if (pid := local._pid(spark)) is None:
        raise SystemExit("the Spark server exited after it came up; see .ecom/logs/spark.log")
    return pid


def await_port_closed(local: LocalServices, timeout_s: float = 30.0) -> None:
    """A killed JVM lets go of its port a moment after its process group is gone."""
    deadline = time.monotonic() + timeout_s
    while _port_open(local.host, local.spark_port):
        if time.monotonic() > deadline:
            raise SystemExit(f"port {local.spark_port} is still taken; run `ecom services stop` and retry")
        time.sleep(0.2)


def timed_build() -> tuple[float, float]:
    """Wall seconds and the server's CPU-seconds of one `dbt build`."""
    wall, cpu, code = cpu_seconds_while(DBT_BUILD, every_second=False)
    if code:
        raise SystemExit(f"dbt build failed ({code}); its log: logs/dbt.log")
    return wall, cpu["spark"]


def mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 1)


def screen(local: LocalServices, variant: Variant, builds: int) -> None:
    pid = restart_spark(local, variant)
    walls, cpus = [], []
    for _ in range(builds):
        wall, cpu = timed_build()
        walls.append(round(wall, 1))
        cpus.append(round(cpu, 1))
    steady = slice(builds // 2, None)
    in_all, jit = cpu_seconds(pid)
    result = {
        "variant": variant.name,
        "conf": variant.conf,
        "build_seconds": walls,
        "server_cpu_seconds": cpus,
        "steady_build_seconds": mean(walls[steady]),
        "steady_server_cpu_seconds": mean(cpus[steady]),
        "jit_cpu_seconds": round(jit, 1),
        "server_cpu_seconds_in_all": round(in_all, 1),
    }
    print(json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", type=Variant.parse, help='"name key=value ..."')
    parser.add_argument("--builds", type=int, default=5)
    args = parser.parse_args()
    local = LocalServices()
    last: Variant | None = None
    try:
        for last in args.variants:
            screen(local, last, args.builds)
    finally:
        # No second JVM start when the server already runs with the project's own settings.
        if last is None or last.conf:
            restart_spark(local, Variant("as-now", {}))


if __name__ == "__main__":
    main()
