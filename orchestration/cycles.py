"""One cycle at a time, whoever starts it.

Runs the daemon launches (sensor ticks, the UI, schedules) queue behind each other through the instance's
run queue (`max_concurrent_runs: 1` in dagster.yaml). An `ecom run` executes in its own process, outside
that queue, so it waits here until no other run is in progress, and it holds a lock so two `ecom run`s
take turns. Its run is then in progress in the instance, so the daemon queues behind it in turn.

A process killed with its run in progress (kill -9, a lost machine) would leave that run "started"
forever and hold the queue. Runs record the host and pid of the process executing them; one whose process
is gone is marked failed by the next `ecom run` or landing-sensor tick on that host.
"""

import fcntl
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

log = logging.getLogger(__name__)

HOST_TAG = "ecom/host"
PID_TAG = "ecom/pid"
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
POLL_SECONDS = 2.0
REPORT_EVERY_SECONDS = 30.0


def process_tags() -> dict[str, str]:
    """Tags that let a later process tell whether this run's process is still alive."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def reap_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the in-progress runs whose process on this host is gone; returns their ids."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=IN_PROGRESS, tags={HOST_TAG: socket.gethostname()})
    )
    reaped = []
    for run in runs:
        pid = int(run.tags[PID_TAG])
        if pid != os.getpid() and not _alive(pid):
            instance.report_run_failed(
                run,
                f"the process executing this run (pid {pid}) is gone; marked failed so the next cycle "
                "can start. Files it had not archived are applied or archived by the next cycle.",
            )
            reaped.append(run.run_id)
            log.warning("run %s: its process %d is gone; marked failed", run.run_id, pid)
    return reaped


def wait_for_other_runs(instance: dg.DagsterInstance) -> None:
    """Return once no other run is in progress, saying which one it waits for."""
    reported = 0.0
    while running := _others_in_progress(instance):
        if time.monotonic() - reported >= REPORT_EVERY_SECONDS:
            run = running[0]
            trigger = run.tags.get(
                "ecom/trigger", run.tags.get("dagster/sensor_name", "the UI or a schedule")
            )
            log.info("waiting for run %s (%s, started by %s) to finish", run.run_id, run.job_name, trigger)
            reported = time.monotonic()
        time.sleep(POLL_SECONDS)


@contextmanager
def cycle_lock(dagster_home: Path) -> Iterator[None]:
    """Held by one `ecom run` at a time on this Dagster instance."""
    with (dagster_home / "ecom-cycle.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another `ecom run` is in progress on this instance; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _others_in_progress(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    reap_dead_runs(instance)
    return list(instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
