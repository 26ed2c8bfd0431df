"""The benchmark's smoke run (issue 5): at the 10k scale the pipeline and both baselines, the one-script
PySpark job and DuckDB, compute the same KPI rows from the same files. No timing is asserted."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from benchmarks.bench import run
from tests.conftest import reset_pipeline

pytestmark = pytest.mark.slow


def test_the_pipeline_and_both_baselines_agree_on_every_kpi_row(services, tmp_path):
    reset_pipeline(services)
    with_path = replace(services, env={**os.environ, **services.env})

    result = run(with_path, tmp_path, orders=4_000, smoke=True)

    assert result["agreement"]["category_kpis"] > 100
    assert result["agreement"]["order_kpis"] >= 20
    assert set(result["steps"]) == {"baseline A (PySpark script)", "baseline B (DuckDB)", "full cycle"}
