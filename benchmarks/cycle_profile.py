"""Where a cycle's CPU goes: how much each service (the Spark server, DynamoDB Local, moto) and the
command itself (`ecom run`, its dbt) burn while it runs and, with --jfr, what the Spark server does with
its share, from a Java Flight Recorder profile grouped by the innermost known mechanism on each sampled
stack (executor tasks, the Hive metastore, analysis, Delta, ...). The figures in
docs/benchmarks.md ("A cycle's fixed cost inside the Spark server") come from it.

    eval "$(.venv/bin/ecom services env)"
    .venv/bin/python benchmarks/cycle_profile.py                   # profiles `ecom run`
    .venv/bin/python benchmarks/cycle_profile.py --jfr --every-second -- .venv/bin/dbt build ...

The services are those SPARK_REMOTE and AWS_ENDPOINT_URL_* point at. The command's CPU is exact (its
rusage, children included); its split between dbt and the rest is sampled, so a dbt process's last second
is missed. A profile of the server needs the JDK's `jcmd` and `jfr` on PATH; it records with JFR's
default settings, which cost a cycle here about 10% of its wall time and 20-30% more server CPU (the
first recording in a server's life far more; the "profile" settings doubled the cycle's time).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from orchestration.services import JFR_STACK_DEPTH

SAMPLE_SECONDS = 1.0
SERVICES_ENV = 'eval "$(.venv/bin/ecom services env)"'
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# What the server is doing, by the innermost of these fragments of a frame's class and method (with its
# package path) on a sampled stack. "DeltaLog" also matches DeltaLogging, which wraps most of Delta's
# operations, scan planning included: hence one Delta phase.
PHASES = [
    ("Executor$TaskRunner", "executor tasks"),
    ("PrepareDeltaScan", "Delta: log, snapshot, scan planning"),
    ("hive/HiveExternalCatalog", "Hive metastore"),
    ("DeltaLog", "Delta: log, snapshot, scan planning"),
    ("catalyst/analysis/", "analysis"),
    ("catalyst/optimizer/", "optimization"),
    ("QueryPlanner.plan", "physical planning"),
    ("DAGScheduler", "job scheduling"),
    ("ClosureCleaner", "closure cleaning"),
    ("SparkConnectPlanner", "Spark Connect plan translation"),
]

JFR_PRINT = ["jfr", "print", "--json", "--events", "jdk.ExecutionSample"]
Process = tuple[int, int]  # pid and start time: a pid may be reused while the command runs


def dbt_build_command(left_out: Sequence[str] = ()) -> list[str]:
    """The `dbt build` the project's own command line gives a cycle that leaves out `left_out`, to run
    outside Dagster. Imports Dagster only when asked: profiling a command does not need it."""
    from ingestion.settings import PROJECT_ROOT
    from orchestration.dbt import DbtBuildConfig, dbt_arguments
    from orchestration.dbt_project import DBT_EXECUTABLE

    location = ["--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT), "--quiet"]
    return [DBT_EXECUTABLE, *dbt_arguments(DbtBuildConfig(), None, left_out), *location]


def processes() -> dict[Process, tuple[int, int, str]]:
    """Every process: its parent, user plus system clock ticks so far, and command line."""
    found: dict[Process, tuple[int, int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().decode(errors="replace").rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[(int(entry.name), int(fields[19]))] = (
            int(fields[1]),
            int(fields[11]) + int(fields[12]),
            command,
        )
    return found


def port_of(variable: str) -> int:
    url = os.environ.get(variable)
    port = urlparse(url.replace("sc://", "http://")).port if url else None
    if port is None:
        raise SystemExit(f"{variable} is not set to a URL with a port: run {SERVICES_ENV}")
    return port


def service_kind(command: str, ports: dict[str, int]) -> str | None:
    """Which of the environment's services a command line is, if any."""
    arguments = command.split()
    if "SparkConnectServer" in command and f"spark.connect.grpc.binding.port={ports['spark']}" in arguments:
        return "spark" if arguments[0].endswith("/java") else None
    if "dynamodb.services.local" in command and str(ports["dynamodb"]) in arguments:
        return "dynamodb"
    if "moto_server" in command and str(ports["moto"]) in arguments:
        return "moto"
    return None


def in_tree(pid: int, root: int, parents: dict[int, int]) -> bool:
    while pid > 1:
        if pid == root:
            return True
        pid = parents.get(pid, 0)
    return False


def environment_ports() -> dict[str, int]:
    return {
        "spark": port_of("SPARK_REMOTE"),
        "moto": port_of("AWS_ENDPOINT_URL_S3"),
        "dynamodb": port_of("AWS_ENDPOINT_URL_DYNAMODB"),
    }


def require_services(ports: dict[str, int]) -> None:
    """Stop before measuring when a service is missing: its CPU would silently read as nothing."""
    found = {service_kind(command, ports) for _, _, command in processes().values()}
    missing = sorted(set(ports) - found)
    if missing:
        raise SystemExit(
            f"not running on the ports the environment names: {', '.join(missing)} ({SERVICES_ENV})"
        )


def cpu_seconds_while(command: list[str], every_second: bool) -> tuple[float, Counter[str], int]:
    """Run `command`; return its wall time, the CPU seconds of each service and of the command (its own
    and its children's, split into dbt and the rest), and its exit code."""
    ports = environment_ports()
    require_services(ports)
    seen = {process: ticks for process, (_, ticks, _) in processes().items()}
    services: Counter[str] = Counter(dict.fromkeys(ports, 0))
    dbt_ticks: Counter[Process] = Counter()
    children_before = _children_cpu_seconds()
    started = sampled = time.monotonic()
    child = subprocess.Popen(command)
    while child.returncode is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=SAMPLE_SECONDS)
        wall = time.monotonic() - started
        table = processes()
        parents = {pid: parent for (pid, _), (parent, _, _) in table.items()}
        second: Counter[str] = Counter()
        for process, (_, ticks, cmd) in table.items():
            used = ticks - seen.get(process, 0)
            seen[process] = ticks
            if kind := service_kind(cmd, ports):
                second[kind] += used
            elif "bin/dbt" in cmd and in_tree(process[0], child.pid, parents):
                dbt_ticks[process] = ticks
        services.update(second)
        if every_second:
            share = second["spark"] / CLOCK_TICKS / (time.monotonic() - sampled)
            print(f"{wall:5.0f} s  spark {100 * share:.0f}%")
        sampled = time.monotonic()
    cpu = Counter({kind: ticks / CLOCK_TICKS for kind, ticks in services.items()})
    cpu["dbt"] = sum(dbt_ticks.values()) / CLOCK_TICKS
    cpu["the command, dbt aside"] = _children_cpu_seconds() - children_before - cpu["dbt"]
    return wall, cpu, child.returncode


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def spark_server_pid() -> int:
    ports = environment_ports()
    for (pid, _), (_, _, command) in processes().items():
        if service_kind(command, ports) == "spark":
            return pid
    raise SystemExit(f"no Spark Connect server listening on port {ports['spark']} (SPARK_REMOTE)")


@contextmanager
def flight_recording(pid: int, recording: Path) -> Iterator[None]:
    """A JFR recording of the server for the duration of the block, stopped even if the command fails."""
    subprocess.run(["jcmd", str(pid), "JFR.start", "name=cycle", "settings=default"], check=True)
    try:
        yield
    finally:
        subprocess.run(["jcmd", str(pid), "JFR.stop", "name=cycle", f"filename={recording}"], check=True)


def phase_of(frames: list[str]) -> str:
    """The innermost known mechanism on a stack (frames leaf first): the Hive metastore called while
    analysing a query counts as the metastore, Delta's log read while planning a scan as the log."""
    for frame in frames:
        for fragment, phase in PHASES:
            if fragment in frame:
                return phase
    return "other"


def server_phases(recording: Path) -> tuple[Counter[str], int]:
    """Samples by phase, and how many stacks JFR cut short (a server started without the deep-stack
    option keeps 64 frames, too few to see the outer phases)."""
    printed = subprocess.run(
        [*JFR_PRINT, "--stack-depth", str(JFR_STACK_DEPTH), str(recording)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    phases: Counter[str] = Counter()
    truncated = 0
    for event in json.loads(printed)["recording"]["events"]:
        stack = event["values"]["stackTrace"]
        truncated += bool(stack.get("truncated"))
        phases[
            phase_of([f"{f['method']['type']['name']}.{f['method']['name']}" for f in stack["frames"]])
        ] += 1
    return phases, truncated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jfr", action="store_true", help="also profile the Spark server (jcmd, jfr)")
    parser.add_argument("--every-second", action="store_true", help="print the server's CPU each second")
    parser.add_argument("command", nargs="*", default=[".venv/bin/ecom", "run"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        recording = Path(scratch) / "server.jfr"
        if args.jfr:
            with flight_recording(spark_server_pid(), recording):
                seconds, cpu, code = cpu_seconds_while(args.command, args.every_second)
        else:
            seconds, cpu, code = cpu_seconds_while(args.command, args.every_second)
        usage = ", ".join(f"{kind} {value:.1f}" for kind, value in cpu.most_common())
        print(f"wall {seconds:.1f} s; CPU seconds: {usage}")
        if args.jfr:
            print_phases(*server_phases(recording))
    return code


def print_phases(phases: Counter[str], truncated: int) -> None:
    total = sum(phases.values())
    if not total:
        print("Spark server: no samples (did the command reach the server?)")
        return
    print(f"Spark server, {total} samples ({truncated} with cut-off stacks):")
    for phase, count in phases.most_common():
        print(f"  {100 * count / total:4.0f}%  {phase}")


if __name__ == "__main__":
    sys.exit(main())
