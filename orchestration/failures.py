"""Turn an unreachable service into a failure that names it, so an outage is never mistaken for bad data.

A cycle whose files are all bad succeeds; a cycle that cannot reach S3, Spark or DynamoDB fails here,
before archiving, so no file moves and the next run completes the work.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

UNREACHABLE_AWS = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
UNREACHABLE_SPARK_MARKERS = ("UNAVAILABLE", "failed to connect", "Connection refused", "Deadline Exceeded")


@contextmanager
def service_boundary(spark_remote: str) -> Iterator[None]:
    """Re-raise a connection failure to S3, DynamoDB or Spark as a Dagster Failure naming the service."""
    try:
        yield
    except UNREACHABLE_AWS as error:
        url = str(error.kwargs.get("endpoint_url", ""))
        raise _unreachable(_aws_service(url), url, error) from error
    except Exception as error:
        if _is_spark_connection_error(error):
            raise _unreachable("the Spark Connect server", spark_remote, error) from error
        raise


def _aws_service(url: str) -> str:
    for variable, name in (("AWS_ENDPOINT_URL_DYNAMODB", "DynamoDB"), ("AWS_ENDPOINT_URL_S3", "S3")):
        endpoint = os.environ.get(variable)
        if endpoint and url.startswith(endpoint):
            return name
    return "DynamoDB" if "dynamodb" in url else "S3" if "s3" in url else "AWS"


def _is_spark_connection_error(error: Exception) -> bool:
    from pyspark.errors.exceptions.connect import SparkConnectGrpcException

    return isinstance(error, SparkConnectGrpcException) and any(
        marker in str(error) for marker in UNREACHABLE_SPARK_MARKERS
    )


def _unreachable(service: str, endpoint: str, error: Exception) -> dg.Failure:
    return dg.Failure(
        description=(
            f"{service} is unreachable at {endpoint}: {str(error).splitlines()[0]}. "
            "No file was moved; files stay in landing/ and the next cycle completes the work."
        ),
        metadata={"service": service, "endpoint": endpoint},
        allow_retries=True,
    )
