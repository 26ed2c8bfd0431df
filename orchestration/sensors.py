"""The landing sensor: start a cycle when new objects appear under landing/.

S3 LastModified has one-second resolution, so the cursor re-lists a small overlap window before its high
-water mark and remembers which objects it saw inside that window; each tick's run key is derived from
the new objects themselves, so a tick evaluated twice never starts two runs.
"""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Self

import dagster as dg
from dagster_aws.s3.sensor import get_objects

from ingestion.landing import LANDING
from orchestration.cycles import reap_dead_runs
from orchestration.resources import EcomResource

OVERLAP = timedelta(seconds=5)


@dataclass(frozen=True)
class LandingCursor:
    high_water: datetime | None = None
    seen_in_overlap: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, raw: str | None) -> Self:
        if not raw:
            return cls()
        data = json.loads(raw)
        high_water = datetime.fromisoformat(data["high_water"]) if data["high_water"] else None
        return cls(high_water, frozenset(data["seen_in_overlap"]))

    def serialize(self) -> str:
        return json.dumps(
            {
                "high_water": self.high_water.isoformat() if self.high_water else None,
                "seen_in_overlap": sorted(self.seen_in_overlap),
            }
        )

    @property
    def list_since(self) -> datetime | None:
        return self.high_water - OVERLAP if self.high_water else None

    def new_objects(self, listed: list[dict]) -> list[dict]:
        return [obj for obj in listed if _identity(obj) not in self.seen_in_overlap]

    def advance(self, listed: list[dict]) -> Self:
        if not listed:
            return self
        high_water = max(
            [obj["LastModified"] for obj in listed] + [self.high_water or listed[0]["LastModified"]]
        )
        window_start = high_water - OVERLAP
        recent = {_identity(obj) for obj in listed if obj["LastModified"] > window_start}
        still_recent = {
            i for i in self.seen_in_overlap if datetime.fromisoformat(i.rsplit("@", 1)[1]) > window_start
        }
        return LandingCursor(high_water, frozenset(recent | still_recent))


def run_key_for(new: list[dict]) -> str:
    digest = hashlib.sha256("\n".join(sorted(_identity(obj) for obj in new)).encode()).hexdigest()
    return f"landing-{digest[:20]}"


def new_by_entity(keys: list[str]) -> str:
    """ "orders=2, order_items=1": why the run started, readable in the run list."""
    counts = Counter(key.removeprefix(LANDING).split("/", 1)[0] for key in keys)
    return ", ".join(f"{entity}={count}" for entity, count in sorted(counts.items()))


def _identity(obj: dict) -> str:
    return f"{obj['Key']}@{obj['ETag'].strip(chr(34))}@{obj['LastModified'].isoformat()}"


def build_landing_sensor(job: dg.JobDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_sensor",
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts a cycle when new files land under landing/ in the bucket.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext, ecom: EcomResource):
        if reaped := reap_dead_runs(context.instance):
            context.log.warning(f"marked failed the runs whose process is gone: {', '.join(reaped)}")
        settings = ecom.settings()
        cursor = LandingCursor.parse(context.cursor)
        listed = get_objects(
            settings.bucket, prefix=LANDING, since_last_modified=cursor.list_since, client=ecom.s3()
        )
        new = cursor.new_objects(listed)
        context.update_cursor(cursor.advance(listed).serialize())
        if not new:
            return dg.SkipReason(f"no new object under s3://{settings.bucket}/{LANDING}")
        keys = sorted(obj["Key"] for obj in new)
        context.log.info(f"starting a cycle for {len(new)} new object(s): {', '.join(keys)}")
        return dg.RunRequest(
            run_key=run_key_for(new),
            tags={
                "ecom/trigger": "landing_sensor",
                "ecom/new_objects": str(len(new)),
                "ecom/new_by_entity": new_by_entity(keys),
            },
        )

    return landing_sensor
