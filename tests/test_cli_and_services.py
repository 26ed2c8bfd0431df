"""The command line's surface and the local services' settings (no services started here)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.settings import PROJECT_ROOT, Settings
from orchestration.cli import EXAMPLES, _parser, format_table, main
from orchestration.services import LocalServices, spark_java_env, spark_server_conf


def test_every_command_has_help_with_an_example(capsys):
    for command in EXAMPLES:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        shown = capsys.readouterr().out
        assert f"example: {EXAMPLES[command]}" in shown
        assert "exit codes: 0 success, 1 failed" in shown


def test_every_option_and_argument_says_what_it_is_for():
    (commands,) = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    undocumented = [
        f"{name} {action.dest}"
        for name, parser in commands.choices.items()
        for action in parser._actions
        if not action.help
    ]
    assert undocumented == []


def test_a_wrong_command_line_exits_with_2():
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args(["kpis", "--source", "postgres"])
    assert exit_info.value.code == 2


def test_a_table_wider_than_the_terminal_cuts_text_columns_never_numbers():
    rows = [
        {"category": "Fashion Hoodies & Sweatshirts", "order_date": "2025-03-08", "revenue": Decimal("9.50")},
        {"category": "Jeans", "order_date": "2025-03-09", "revenue": Decimal("1234567.89")},
    ]

    lines = format_table(rows, width=40).splitlines()

    assert max(len(line) for line in lines) <= 40
    assert lines[0] == "category          order_date     revenue"
    assert lines[2] == "Fashion Hoodies…  2025-03-08        9.50"
    assert lines[3].endswith("1234567.89")
    assert format_table(rows).splitlines()[2].startswith("Fashion Hoodies & Sweatshirts  ")


def test_tables_align_columns_and_show_empty_values():
    text = format_table([{"entity": "orders", "received": 12}, {"entity": "order_items", "received": 3}])
    assert text.splitlines() == [
        "entity       received",
        "-----------  --------",
        "orders             12",
        "order_items         3",
    ]


def test_client_env_keeps_real_credentials_and_adds_local_endpoints():
    local = LocalServices(state_dir=Path("/tmp/x"), spark_port=1, s3_port=2, dynamodb_port=3)
    env = local.client_env(
        {"AWS_ACCESS_KEY_ID": "AKIA...", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-west-1"}
    )
    assert env == {
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:2",
        "AWS_ENDPOINT_URL_SNS": "http://127.0.0.1:2",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:3",
        "SPARK_REMOTE": "sc://127.0.0.1:1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "ECOM_SNS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:ecom-cycle-notices",
    }
    assert local.client_env({})["AWS_ACCESS_KEY_ID"] == "test"


def test_spark_server_owns_delta_the_metastore_utc_and_s3a():
    conf = spark_server_conf(
        Settings(warehouse="s3a://b/wh"), Path("/state"), "127.0.0.1", 15002, "http://h:9"
    )
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.catalogImplementation"] == "hive"
    assert "/state/metastore_db" in conf["spark.hadoop.javax.jdo.option.ConnectionURL"]
    assert conf["spark.sql.warehouse.dir"] == "s3a://b/wh"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.databricks.delta.merge.materializeSource"] == "all"
    assert conf["spark.ui.showConsoleProgress"] == "false"
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://h:9"


def _jdks(root: Path, versions: dict[str, str | None]) -> Path:
    """Fake JDK homes under root, each with a `release` file naming its version (None: no such file)."""
    for name, version in versions.items():
        (root / name).mkdir(parents=True)
        if version:
            (root / name / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    return root


def test_spark_server_runs_on_the_newest_jdk_spark_supports(tmp_path):
    root = _jdks(
        tmp_path, {"jdk17": "17.0.15", "jdk21": "21.0.4", "jdk25": "25.0.3", "jdk26": "26", "bare": None}
    )
    assert spark_java_env({}, root) == {"JAVA_HOME": str(root / "jdk25")}


def test_spark_server_skips_java_25_before_25_0_3_and_keeps_java_17_alone(tmp_path):
    early = _jdks(tmp_path / "a", {"jdk21": "21.0.4", "jdk25": "25.0.2"})
    assert spark_java_env({}, early) == {"JAVA_HOME": str(early / "jdk21")}
    only17 = _jdks(tmp_path / "b", {"jdk17": "17.0.15"})
    assert spark_java_env({}, only17) == {}


def test_ecom_spark_java_home_chooses_the_spark_servers_jdk(tmp_path):
    root = _jdks(tmp_path, {"jdk25": "25.0.3"})
    assert spark_java_env({"ECOM_SPARK_JAVA_HOME": "/opt/jdk"}, root) == {"JAVA_HOME": "/opt/jdk"}


def test_settings_come_from_the_environment_with_documented_defaults():
    assert Settings.from_env({}) == Settings()
    settings = Settings.from_env(
        {"ECOM_BUCKET": "b", "ECOM_ORDER_KPI_TABLE": "o", "SPARK_REMOTE": "sc://h:1"}
    )
    assert (settings.bucket, settings.order_kpi_table, settings.spark_remote) == ("b", "o", "sc://h:1")
    assert settings.category_kpi_table == "category_kpi_table"


def test_a_process_whose_spark_server_is_gone_still_exits_promptly():
    """pyspark's exit hook retries a clean-up call to the server for minutes unless the client is closed."""
    script = (
        "from ingestion.settings import Settings, spark_session, close_spark_clients\n"
        "spark_session(Settings(spark_remote='sc://127.0.0.1:9'))\n"
        "close_spark_clients()\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, timeout=30, capture_output=True
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
