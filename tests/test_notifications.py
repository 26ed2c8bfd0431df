"""Cycle notices as an SNS subscriber receives them (moto in process; the real emulator is exercised by
the bad-input and outage end-to-end tests)."""

from __future__ import annotations

import boto3
import pytest

from export.notifications import failure_notice, publish, rejection_notice
from tests.fakes import fake_aws
from tests.notices import NoticeQueue


@pytest.fixture
def topic():
    with fake_aws():
        sns = boto3.client("sns", region_name="us-east-1")
        arn = sns.create_topic(Name="notices")["TopicArn"]
        queue = NoticeQueue.subscribe(sns, boto3.client("sqs", region_name="us-east-1"), arn)
        yield sns, arn, queue


def test_a_failure_notice_names_stage_error_and_files_and_carries_attributes(topic):
    sns, arn, queue = topic
    keys = ["landing/orders/a.csv", "landing/order_items/b.csv.gz"]

    publish(sns, arn, failure_notice("run-1", "export", "DynamoDB is unreachable at http://x:9.\n", keys))

    (notice,) = queue.received()
    assert notice["Subject"] == "ecom cycle failed at export"
    assert "cycle run-1 failed at the export stage" in notice["Message"]
    assert "Error: DynamoDB is unreachable at http://x:9." in notice["Message"]
    assert (
        "Files in landing/ when it failed (2):\n  - landing/orders/a.csv\n  - landing/order_items"
        in (notice["Message"])
    )
    assert {name: a["Value"] for name, a in notice["MessageAttributes"].items()} == {
        "event": "cycle_failed",
        "stage": "export",
        "run_id": "run-1",
    }


def test_a_long_file_list_is_cut_and_says_how_many_more():
    keys = [f"landing/orders/{n:03}.csv" for n in range(45)]

    body = failure_notice("r", "ingestion", "boom", keys).body

    assert "landing/orders/019.csv" in body
    assert "landing/orders/020.csv" not in body
    assert "  - ... and 25 more" in body


def test_a_subject_is_one_line_of_printable_ascii_within_100_characters():
    notice = failure_notice("r", "dbt build\nwith a very long name " + "é" * 200, "boom", [])

    assert len(notice.subject) == 100
    assert notice.subject.isascii() and notice.subject.isprintable()


def test_a_rejection_summary_gives_the_counts_and_the_table(topic):
    sns, arn, queue = topic

    publish(sns, arn, rejection_notice("run-2", 3, 1, "| level | entity |\n|---|---|"))

    (notice,) = queue.received()
    assert notice["Subject"] == "ecom cycle rejected 3 row(s), 1 file(s)"
    assert "rejected 3 row(s) and 1 whole file(s)" in notice["Message"]
    assert notice["Message"].endswith("| level | entity |\n|---|---|")


def test_the_error_in_a_notice_is_the_step_s_own_message_out_of_dagster_s_wrappers():
    from dagster._utils.error import SerializableErrorInfo

    from orchestration.notifications import error_text

    failure = SerializableErrorInfo(
        "dagster._core.definitions.events.Failure: DynamoDB is unreachable at http://x:9.\n", [], "Failure"
    )
    retried = SerializableErrorInfo("Exceeded max_retries of 3\n", [], "RetryRequestedFromPolicy", failure)
    wrapped = SerializableErrorInfo(
        "Error in op\n",
        [],
        "DagsterExecutionStepExecutionError",
        SerializableErrorInfo("ValueError: bad\n", [], "ValueError"),
    )

    assert error_text(retried) == "DynamoDB is unreachable at http://x:9."
    assert error_text(wrapped) == "ValueError: bad"
    assert error_text(None) == "no error recorded"
