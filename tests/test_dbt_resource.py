"""The dbt resource of every cycle starts dbt and nothing else: no `dbt --version` in a subprocess and no
in-process dbt adapter before it (about 3 s of every cycle; docs/benchmarks.md, "dbt start-up")."""

from __future__ import annotations

import re
import subprocess

import dagster_dbt.core.resource

from orchestration.dbt import DbtCli
from orchestration.dbt_project import DBT_EXECUTABLE, dbt_project


def test_a_dbt_invocation_starts_no_other_process_and_no_adapter(monkeypatch):
    reported = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True)
    installed = re.search(r"Core:\s+- installed: (\S+)", reported.stdout).group(1)

    def no_subprocess(command, *args, **kwargs):
        raise AssertionError(f"the resource ran {command} before dbt")

    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_subprocess)
    dbt = DbtCli(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)

    listed = dbt.cli(
        ["ls", "--select", "order_kpis", "--resource-type", "model"], manifest=dbt_project.manifest_path
    ).wait()

    assert listed.is_successful()
    assert listed.adapter is None
    assert str(listed.cli_version) == installed
