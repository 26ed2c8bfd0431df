"""Read what the pipeline publishes to SNS as a subscriber does (an SQS queue on the topic), and evaluate
the run-status sensors the way the daemon does."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from orchestration.cli import ensure_dagster_home
from orchestration.definitions import defs
from orchestration.resources import EcomResource


@dataclass(frozen=True)
class NoticeQueue:
    sqs: Any
    url: str

    @classmethod
    def subscribe(cls, sns, sqs, topic_arn: str) -> NoticeQueue:
        url = sqs.create_queue(QueueName=f"notices-{uuid.uuid4().hex[:12]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
        return cls(sqs, url)

    def received(self) -> list[dict]:
        """Every notice delivered so far, as SNS's JSON envelope (Subject, Message, MessageAttributes)."""
        notices = []
        while batch := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages"):
            for message in batch:
                notices.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return notices


@dataclass
class RunStatusWatch:
    """A run-status sensor evaluated against DAGSTER_HOME from a cursor taken when the watch starts, so
    it reacts to the runs that finish afterwards, as the daemon's ticks would."""

    sensor_name: str
    cursor: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.tick()

    def tick(self) -> list[Any]:
        """Evaluate once; returns the errors the sensor raised while reacting to runs (none expected)."""
        ensure_dagster_home()
        sensor = defs.resolve_sensor_def(self.sensor_name)
        with dg.DagsterInstance.get() as instance:
            context = dg.build_sensor_context(
                instance=instance, cursor=self.cursor, resources={"ecom": EcomResource()}
            )
            data = sensor.evaluate_tick(context)
        self.cursor = data.cursor
        return [reaction.error for reaction in data.dagster_run_reactions if reaction.error]
