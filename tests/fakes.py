"""In-process AWS fakes for unit tests (moto's mock), with the emulator endpoints removed from the
environment so that boto3 does not reach for a real local service."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto import mock_aws

ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SNS")


@contextmanager
def fake_aws() -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in ENDPOINT_VARIABLES if name in os.environ}
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    try:
        with mock_aws():
            yield
    finally:
        os.environ.update(saved)


@contextmanager
def fake_s3(bucket: str = "landing-bucket") -> Iterator[object]:
    with fake_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        yield s3
