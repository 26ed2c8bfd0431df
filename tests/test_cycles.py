"""One cycle at a time: runs whose process died are failed so they stop holding the queue."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import uuid

import dagster as dg
import pytest

from orchestration.cycles import HOST_TAG, PID_TAG, cycle_lock, reap_dead_runs, wait_for_other_runs


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def _started_run(instance: dg.DagsterInstance, pid: int, host: str | None = None) -> str:
    run_id = str(uuid.uuid4())
    tags = {HOST_TAG: host or socket.gethostname(), PID_TAG: str(pid)}
    instance.add_run(
        dg.DagsterRun(job_name="ecom_cycle", run_id=run_id, status=dg.DagsterRunStatus.STARTED, tags=tags)
    )
    return run_id


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_run_whose_process_is_gone_is_marked_failed_and_others_are_left_alone(instance):
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead_run = _started_run(instance, _dead_pid())
        live_run = _started_run(instance, alive.pid)
        other_host_run = _started_run(instance, _dead_pid(), host="another-host")

        assert reap_dead_runs(instance) == [dead_run]

        assert instance.get_run_by_id(dead_run).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(live_run).status == dg.DagsterRunStatus.STARTED
        assert instance.get_run_by_id(other_host_run).status == dg.DagsterRunStatus.STARTED
    finally:
        alive.kill()
        alive.wait()


def test_waiting_ends_when_the_only_run_in_progress_has_lost_its_process(instance):
    run_id = _started_run(instance, _dead_pid())

    wait_for_other_runs(instance)

    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE


def test_a_second_holder_of_the_cycle_lock_waits_for_the_first(tmp_path):
    order = []
    with cycle_lock(tmp_path):
        second = threading.Thread(target=lambda: _hold(tmp_path, order))
        second.start()
        second.join(timeout=0.5)
        order.append("first done")
    second.join(timeout=10)
    assert order == ["first done", "second"]


def _hold(home, order):
    with cycle_lock(home):
        order.append("second")
