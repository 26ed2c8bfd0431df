"""Where a cycle's CPU goes: which process burns it (Spark server, dbt, the `ecom` process, DynamoDB
Local, moto) and, with --jfr, what the Spark server does with its share, from a Java Flight Recorder
profile grouped by phase of a query (executor tasks, Delta snapshot and scan planning, analysis, the Hive
metastore, ...). The figures in docs/benchmarks.md ("A cycle's fixed cost inside the Spark server")
come from it.

    eval "$(.venv/bin/ecom services env)"
    .venv/bin/python benchmarks/cycle_profile.py                 # profiles `ecom run`
    .venv/bin/python benchmarks/cycle_profile.py --jfr -- .venv/bin/dbt build --project-dir . ...

A profile of the server needs the JDK's `jcmd` and `jfr` on PATH. It records with JFR's default
settings, which left a cycle's time unchanged here (its "profile" settings doubled it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SAMPLE_SECONDS = 1.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Process kinds by a fragment of their command line, first match wins.
PROCESS_KINDS = [
    ("SparkConnectServer", "spark"),
    ("DynamoDBLocal", "dynamodb"),
    ("moto", "moto"),
    ("bin/dbt", "dbt"),
    ("orchestration.cli", "ecom"),
    ("bin/ecom", "ecom"),
]
# What the server is doing, by the innermost of these frames on a sampled stack.
PHASES = [
    ("Executor$TaskRunner", "executor tasks"),
    ("PrepareDeltaScan", "Delta scan planning"),
    ("Analyzer.execute", "analysis"),
    ("HiveExternalCatalog", "Hive metastore"),
    ("DeltaLog", "Delta log and snapshot"),
    ("Optimizer", "optimization"),
    ("QueryPlanner.plan", "physical planning"),
    ("DAGScheduler", "job scheduling"),
    ("ClosureCleaner", "closure cleaning"),
    ("SparkConnectPlanner", "Spark Connect plan translation"),
]


def cpu_ticks_by_pid() -> dict[int, tuple[int, str]]:
    """User plus system clock ticks so far and the command line of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[11]) + int(fields[12]), command)
    return found


def process_kind(command: str) -> str:
    return next((kind for fragment, kind in PROCESS_KINDS if fragment in command), "other")


def cpu_seconds_while(command: list[str]) -> tuple[float, Counter]:
    """Run `command`; return its wall time and the CPU seconds each kind of process used meanwhile
    (processes started during the run count from zero)."""
    used: Counter = Counter()
    before = cpu_ticks_by_pid()
    started = time.monotonic()
    process = subprocess.Popen(command)
    while process.poll() is None:
        time.sleep(SAMPLE_SECONDS)
        now = cpu_ticks_by_pid()
        for pid, (ticks, cmd) in now.items():
            used[process_kind(cmd)] += ticks - before.get(pid, (0, ""))[0]
        before = now
    return time.monotonic() - started, Counter({kind: ticks / CLOCK_TICKS for kind, ticks in used.items()})


def spark_server_pid() -> int:
    port = os.environ["SPARK_REMOTE"].rsplit(":", 1)[1].split("/")[0]
    for pid, (_, command) in cpu_ticks_by_pid().items():
        java = command.split(" ", 1)[0].endswith("/java")
        if java and "SparkConnectServer" in command and f"spark.connect.grpc.binding.port={port}" in command:
            return pid
    raise SystemExit(f"no Spark Connect server listening on port {port} (SPARK_REMOTE)")


def phase_of(frames: list[str]) -> str:
    """The innermost known phase on a stack (frames leaf first): the Hive metastore called while
    analysing a query counts as the metastore."""
    for frame in frames:
        for fragment, phase in PHASES:
            if fragment in frame:
                return phase
    return "other"


def server_phases(recording: Path) -> Counter:
    printed = subprocess.run(
        ["jfr", "print", "--json", "--stack-depth", "512", "--events", "jdk.ExecutionSample", str(recording)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    phases: Counter = Counter()
    for event in json.loads(printed)["recording"]["events"]:
        frames = [
            f"{frame['method']['type']['name'].rsplit('/', 1)[-1]}.{frame['method']['name']}"
            for frame in event["values"]["stackTrace"]["frames"]
        ]
        phases[phase_of(frames)] += 1
    return phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jfr", action="store_true", help="also profile the Spark server (jcmd, jfr)")
    parser.add_argument("command", nargs="*", default=[".venv/bin/ecom", "run"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        recording = Path(scratch) / "server.jfr"
        if args.jfr:
            pid = str(spark_server_pid())
            subprocess.run(["jcmd", pid, "JFR.start", "name=cycle", "settings=default"], check=True)
        seconds, cpu = cpu_seconds_while(args.command)
        if args.jfr:
            subprocess.run(["jcmd", pid, "JFR.stop", "name=cycle", f"filename={recording}"], check=True)
        print(
            f"wall {seconds:.1f} s; CPU seconds by process: "
            + ", ".join(f"{kind} {value:.1f}" for kind, value in cpu.most_common())
        )
        if args.jfr:
            phases = server_phases(recording)
            total = sum(phases.values())
            print(f"Spark server, {total} samples:")
            for phase, count in phases.most_common():
                print(f"  {100 * count / total:4.0f}%  {phase}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
