"""Cycle notices for people, published to an SNS topic (e-mail, chat and queues subscribe to it).

A failure names the stage, the error and the files waiting in landing/, and says what happens to them; a
successful cycle that rejected rows or files gets a short summary. Plain text, because the usual
subscriber is an inbox; the event, stage and run travel as message attributes for filter policies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_SUBJECT = 100
MAX_FILES_LISTED = 20


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)


def failure_notice(run_id: str, stage: str, error: str, waiting_files: list[str]) -> Notice:
    listed = [f"  - {key}" for key in waiting_files[:MAX_FILES_LISTED]]
    if len(waiting_files) > MAX_FILES_LISTED:
        listed.append(f"  - ... and {len(waiting_files) - MAX_FILES_LISTED} more")
    body = "\n".join(
        [
            f"The e-commerce KPI cycle {run_id} failed at the {stage} stage.",
            "",
            f"Error: {error.strip()}",
            "",
            f"Files in landing/ when it failed ({len(waiting_files)}):",
            *(listed or ["  (none)"]),
            "",
            "Nothing was archived: the files stay in landing/ and the next cycle applies them once the "
            "cause is fixed. The marts and DynamoDB keep the state of the last successful cycle.",
        ]
    )
    return Notice(
        subject=_subject(f"ecom cycle failed at {stage}"),
        body=body,
        attributes={"event": "cycle_failed", "stage": stage, "run_id": run_id},
    )


def rejection_notice(run_id: str, rows_rejected: int, files_rejected: int, by_reason: str) -> Notice:
    body = "\n".join(
        [
            f"The e-commerce KPI cycle {run_id} succeeded and rejected {rows_rejected} row(s) and "
            f"{files_rejected} whole file(s).",
            "",
            "Rejected rows are in quarantine.rejected_rows (file, line, reasons); rejected files are in "
            "errors/ with a .error.json sidecar. The KPIs count every valid row.",
            "",
            by_reason,
        ]
    )
    return Notice(
        subject=_subject(f"ecom cycle rejected {rows_rejected} row(s), {files_rejected} file(s)"),
        body=body,
        attributes={"event": "cycle_rejections", "run_id": run_id},
    )


def publish(sns, topic_arn: str, notice: Notice) -> str:
    """Publish one notice; returns SNS's message id."""
    response = sns.publish(
        TopicArn=topic_arn,
        Subject=notice.subject,
        Message=notice.body,
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in notice.attributes.items()
        },
    )
    return response["MessageId"]


def _subject(text: str) -> str:
    """SNS subjects are at most 100 printable ASCII characters on one line."""
    printable = "".join(c if 32 <= ord(c) < 127 else "?" for c in " ".join(text.split()))
    return printable[:MAX_SUBJECT]
