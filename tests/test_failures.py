"""Outages are named by service and never mistaken for bad data."""

from __future__ import annotations

import dagster as dg
import pytest
from botocore.exceptions import EndpointConnectionError
from pyspark.errors.exceptions.connect import SparkConnectGrpcException

from orchestration.failures import service_boundary


@pytest.mark.parametrize(
    ("variable", "url", "service"),
    [
        ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4566", "S3"),
        ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000", "DynamoDB"),
    ],
)
def test_an_unreachable_aws_endpoint_fails_naming_the_service(monkeypatch, variable, url, service):
    monkeypatch.setenv(variable, url)
    with pytest.raises(dg.Failure) as failure, service_boundary("sc://spark:15002"):
        raise EndpointConnectionError(endpoint_url=f"{url}/some-table")
    assert failure.value.description.startswith(f"{service} is unreachable at {url}/some-table")
    assert "No file was moved" in failure.value.description


def test_an_unreachable_spark_server_fails_naming_it():
    with pytest.raises(dg.Failure) as failure, service_boundary("sc://spark:15002"):
        raise SparkConnectGrpcException(
            "<_MultiThreadedRendezvous: StatusCode.UNAVAILABLE, failed to connect>"
        )
    assert failure.value.description.startswith("the Spark Connect server is unreachable at sc://spark:15002")


def test_other_errors_pass_through_unchanged():
    with pytest.raises(ValueError, match="a bug"), service_boundary("sc://spark:15002"):
        raise ValueError("a bug")
