"""Run-status sensors that tell people about cycles through SNS (topic from ECOM_SNS_TOPIC_ARN).

They watch every code location and pick the cycle job by name: `ecom run` executes the job in process,
and such runs carry no code-location origin, so `monitored_jobs` would never match them.
"""

import dagster as dg
from dagster._utils.error import SerializableErrorInfo

from export.notifications import failure_notice, publish, rejection_notice
from ingestion.landing import list_landed
from ingestion.settings import Settings, sns_client
from orchestration.conventions import STAGES
from orchestration.resources import EcomResource

REJECTED_ROWS_KEY = dg.AssetKey(["quarantine", "rejected_rows"])


def build_notification_sensors(job: dg.JobDefinition) -> list[dg.SensorDefinition]:
    @dg.run_failure_sensor(
        name="cycle_failure_notice",
        monitor_all_code_locations=True,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Publishes to the SNS topic when a cycle fails: the stage, the error, the files.",
    )
    def cycle_failure_notice(context: dg.RunFailureSensorContext, ecom: EcomResource):
        settings = ecom.settings()
        if skip := no_notice_for(context.dagster_run, job, settings):
            return skip
        stage, error = failed_stage(context)
        notice = failure_notice(context.dagster_run.run_id, stage, error, waiting_files(ecom))
        message_id = publish(sns_client(settings), settings.sns_topic_arn, notice)
        context.log.info(f"published failure notice {message_id} (stage {stage}) to {settings.sns_topic_arn}")
        return None

    @dg.run_status_sensor(
        name="cycle_rejections_notice",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitor_all_code_locations=True,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Publishes a short summary to the SNS topic when a successful cycle rejected input.",
    )
    def cycle_rejections_notice(context: dg.RunStatusSensorContext, ecom: EcomResource):
        settings = ecom.settings()
        if skip := no_notice_for(context.dagster_run, job, settings):
            return skip
        metadata = rejection_metadata_of(context.instance, context.dagster_run.run_id)
        rows = int(metadata["rows_rejected_last_cycle"].value) if metadata else 0
        files = int(metadata["files_rejected_last_cycle"].value) if metadata else 0
        if not rows and not files:
            return dg.SkipReason(f"cycle {context.dagster_run.run_id} rejected nothing")
        notice = rejection_notice(
            context.dagster_run.run_id, rows, files, str(metadata["rejections_by_reason"].value)
        )
        publish(sns_client(settings), settings.sns_topic_arn, notice)
        return None

    return [cycle_failure_notice, cycle_rejections_notice]


def no_notice_for(run: dg.DagsterRun, job: dg.JobDefinition, settings: Settings) -> dg.SkipReason | None:
    if run.job_name != job.name:
        return dg.SkipReason(f"run {run.run_id} is not a cycle")
    if not settings.sns_topic_arn:
        return dg.SkipReason("ECOM_SNS_TOPIC_ARN is not set: no notice sent")
    return None


def failed_stage(context: dg.RunFailureSensorContext) -> tuple[str, str]:
    """The first failed step as a stage name, and its error; a run that failed outside any step (it
    could not start, or was killed) is named as such."""
    for event in context.get_step_failure_events():
        return STAGES.get(event.step_key, event.step_key), error_text(event.step_failure_data.error)
    return "run start", context.failure_event.message or "the run failed before any step"


# Dagster's wrappers around the exception a step raised: a step error, and the retries running out.
WRAPPERS = {"DagsterExecutionStepExecutionError", "RetryRequestedFromPolicy"}


def error_text(error: SerializableErrorInfo | None) -> str:
    """What went wrong in the step's own words: out of Dagster's wrappers, and without the class name of
    a Failure (our outage messages are written for people)."""
    while error and error.cls_name in WRAPPERS and error.cause:
        error = error.cause
    if error is None:
        return "no error recorded"
    message = error.message.strip()
    return message.split(": ", 1)[1] if error.cls_name == "Failure" and ": " in message else message


def waiting_files(ecom: EcomResource) -> list[str]:
    """The objects in landing/ when the notice goes out: what the failed cycle left for the next one."""
    try:
        return [obj.key for obj in list_landed(ecom.s3(), ecom.settings().bucket)]
    except Exception as error:
        return [f"(could not list landing/: {error})"]


def rejection_metadata_of(instance: dg.DagsterInstance, run_id: str) -> dict | None:
    """The metadata the run recorded on quarantine/rejected_rows, if it materialized it."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = record.asset_materialization
        if materialization and materialization.asset_key == REJECTED_ROWS_KEY:
            return dict(materialization.metadata)
    return None
