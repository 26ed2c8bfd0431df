"""Local stand-ins for AWS and the engine: a Spark Connect server, moto (S3, SNS) and DynamoDB Local.

Each runs in the background on loopback, in its own process group, with its pid and log under one state
folder, so `start` is idempotent, `status` can tell a live service from a stale pid file, and `stop`
leaves nothing behind. The Spark Connect server is the one engine every client shares: it owns the Hive
metastore (embedded Derby, which admits one JVM), the warehouse, Delta Lake and the s3a settings.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.settings import PROJECT_ROOT, STATE_DIR, Settings

log = logging.getLogger(__name__)

JVM_DIR = PROJECT_ROOT / ".jvm"
JDK_ROOT = Path("/usr/lib/jvm")
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
# moto's default account; the local topic for cycle notices lives there.
EMULATOR_ACCOUNT = "123456789012"
NOTICES_TOPIC = "ecom-cycle-notices"
START_TIMEOUT_S = 180.0


class ServiceError(RuntimeError):
    """A local service could not be started or reached; the message names it and its log."""


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    command: list[str]
    healthy: Callable[[], bool]
    extra_env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LocalServices:
    """Ports and state folder of one set of local services (tests run their own set on other ports)."""

    state_dir: Path = STATE_DIR
    spark_port: int = 15002
    s3_port: int = 4566
    dynamodb_port: int = 8000
    host: str = "127.0.0.1"
    # DynamoDB Local keeps its tables on disk by default, so they survive a restart; on disk it commits
    # each batch to SQLite, which caps it near 1,000 items/s here. The benchmark measures the export
    # against the in-memory store instead (docs/benchmarks.md).
    dynamodb_in_memory: bool = False

    @property
    def endpoints(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL_S3": f"http://{self.host}:{self.s3_port}",
            "AWS_ENDPOINT_URL_SNS": f"http://{self.host}:{self.s3_port}",
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://{self.host}:{self.dynamodb_port}",
            "SPARK_REMOTE": f"sc://{self.host}:{self.spark_port}",
        }

    def client_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """What a client of these services needs in its environment; credentials only where none are set."""
        env = os.environ if environ is None else environ
        extra = {k: v for k, v in LOCAL_CREDENTIALS.items() if k not in env}
        region = env.get("AWS_REGION", Settings().region)
        # AWS_DEFAULT_REGION too: boto3.resource() and the AWS CLI v1 read only that one.
        local = {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "ECOM_SNS_TOPIC_ARN": notices_topic_arn(env),
        }
        extra |= {k: v for k, v in local.items() if k not in env}
        return {**self.endpoints, **extra}

    def services(self, settings: Settings) -> list[Service]:
        return [
            Service("s3", self.s3_port, self._moto_command(), lambda: _port_open(self.host, self.s3_port)),
            Service(
                "dynamodb",
                self.dynamodb_port,
                self._dynamodb_command(),
                lambda: _port_open(self.host, self.dynamodb_port),
            ),
            Service(
                "spark",
                self.spark_port,
                self._spark_command(settings),
                lambda: _port_open(self.host, self.spark_port),
                extra_env={"SPARK_LOG_DIR": str(self.state_dir / "logs"), **spark_java_env()},
            ),
        ]

    def start(self, settings: Settings) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "logs").mkdir(exist_ok=True)
        # spark-submit refuses to start a server when SPARK_REMOTE (a client setting) is present.
        env = {k: v for k, v in {**os.environ, **self.client_env()}.items() if k != "SPARK_REMOTE"}
        started: list[Service] = []
        for service in self.services(settings):
            if self._pid(service) is not None and service.healthy():
                log.info("%s already running on port %s", service.name, service.port)
                continue
            if _port_open(self.host, service.port):
                raise ServiceError(
                    f"port {service.port} is taken by a process that is not our {service.name}; "
                    f"stop it or run `ecom services stop` and retry"
                )
            self._launch(service, {**env, **service.extra_env})
            started.append(service)
        for service in started:
            self._await_healthy(service)
        (self.state_dir / "services.json").write_text(
            json.dumps({"settings": settings.__dict__, "endpoints": self.endpoints}, indent=2)
        )
        self._ensure_bucket_and_topic(settings)

    def _ensure_bucket_and_topic(self, settings: Settings) -> None:
        """The emulator starts empty; on AWS the bucket and the topic are the operator's to create."""
        s3 = self._emulator_client("s3", settings)
        try:
            s3.head_bucket(Bucket=settings.bucket)
        except s3.exceptions.ClientError:
            s3.create_bucket(Bucket=settings.bucket)
            log.info("created bucket %s", settings.bucket)
        topic_name = notices_topic_arn(os.environ).rsplit(":", 1)[1]
        created = self._emulator_client("sns", settings).create_topic(Name=topic_name)
        log.info("cycle notices go to SNS topic %s", created["TopicArn"])

    def _emulator_client(self, service: str, settings: Settings):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoints["AWS_ENDPOINT_URL_S3"],
            region_name=settings.region,
            **{name.lower(): value for name, value in LOCAL_CREDENTIALS.items()},
        )

    def stop(self) -> None:
        running = [(service, pid) for service in self.services(Settings()) if (pid := self._pid(service))]
        _terminate_groups([pid for _, pid in running])
        for service, pid in running:
            self._pid_file(service).unlink(missing_ok=True)
            log.info("stopped %s (pid %s)", service.name, pid)

    def status(self) -> dict[str, str]:
        result = {}
        for service in self.services(Settings()):
            pid = self._pid(service)
            if pid is None:
                result[service.name] = "stopped"
            elif service.healthy():
                result[service.name] = f"running (pid {pid}, port {service.port})"
            else:
                result[service.name] = f"starting or unhealthy (pid {pid}, port {service.port})"
        return result

    def _launch(self, service: Service, env: Mapping[str, str]) -> None:
        log_path = self.state_dir / "logs" / f"{service.name}.log"
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                service.command,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env),
                cwd=self.state_dir,
                start_new_session=True,
            )
        self._pid_file(service).write_text(str(process.pid))
        java = f", Java {service.extra_env['JAVA_HOME']}" if "JAVA_HOME" in service.extra_env else ""
        pid = process.pid
        log.info("starting %s on port %s (pid %s, log %s%s)", service.name, service.port, pid, log_path, java)

    def _await_healthy(self, service: Service) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if service.healthy():
                log.info("%s is up on port %s", service.name, service.port)
                return
            if self._pid(service) is None:
                break
            time.sleep(0.25)
        log_path = self.state_dir / "logs" / f"{service.name}.log"
        raise ServiceError(f"{service.name} did not come up on port {service.port}; see {log_path}")

    def _pid_file(self, service: Service) -> Path:
        return self.state_dir / f"{service.name}.pid"

    def _pid(self, service: Service) -> int | None:
        """The service's pid if its pid file names a live process."""
        try:
            pid = int(self._pid_file(service).read_text())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid if not _is_zombie(pid) else None

    def _moto_command(self) -> list[str]:
        return [str(Path(sys.executable).with_name("moto_server")), "-H", self.host, "-p", str(self.s3_port)]

    def _dynamodb_command(self) -> list[str]:
        lib = JVM_DIR / "dynamodb"
        data = self.state_dir / "dynamodb"
        data.mkdir(parents=True, exist_ok=True)
        storage = ["-inMemory"] if self.dynamodb_in_memory else ["-dbPath", str(data)]
        return [
            _java(),
            f"-Djava.library.path={lib}",
            "-Xmx512m",
            "-cp",
            f"{lib}/*",
            "software.amazon.dynamodb.services.local.main.ServerRunner",
            "-port",
            str(self.dynamodb_port),
            *storage,
            "-sharedDb",
            "-disableTelemetry",
        ]

    def _spark_command(self, settings: Settings) -> list[str]:
        import pyspark

        spark_home = Path(pyspark.__file__).parent
        jars = sorted((JVM_DIR / "spark").glob("*.jar"))
        conf = spark_server_conf(
            settings, self.state_dir, self.host, self.spark_port, self.endpoints["AWS_ENDPOINT_URL_S3"]
        )
        command = [
            str(spark_home / "bin" / "spark-submit"),
            "--class",
            "org.apache.spark.sql.connect.service.SparkConnectServer",
            "--master",
            "local[*]",
            "--driver-memory",
            os.environ.get("ECOM_SPARK_DRIVER_MEMORY", "6g"),
            "--jars",
            ",".join(str(j) for j in jars),
        ]
        for key, value in conf.items():
            command += ["--conf", f"{key}={value}"]
        return command


@dataclass(frozen=True)
class RunningServices:
    """Started services with the settings they serve and the environment a client process needs: what
    the test suite and the benchmark hand to the commands they run."""

    local: LocalServices
    settings: Settings
    env: dict[str, str]


def notices_topic_arn(env: Mapping[str, str]) -> str:
    """ECOM_SNS_TOPIC_ARN when set; else the emulator's topic in the configured region."""
    region = env.get("AWS_REGION", Settings().region)
    return env.get("ECOM_SNS_TOPIC_ARN", f"arn:aws:sns:{region}:{EMULATOR_ACCOUNT}:{NOTICES_TOPIC}")


JFR_STACK_DEPTH = 1024


def spark_server_conf(
    settings: Settings, state_dir: Path, host: str, port: int, s3_endpoint: str
) -> dict[str, str]:
    """Server-side Spark settings: Delta, the Derby metastore, UTC, s3a, and partitioning for small data."""
    return {
        "spark.connect.grpc.binding.address": host,
        "spark.connect.grpc.binding.port": str(port),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={state_dir / 'metastore_db'};create=true"
        ),
        # Stacks deep enough for a Java Flight Recorder profile to show a sample's outer phases
        # (benchmarks/cycle_profile.py); the JVM records them only while a recording runs.
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={state_dir} -XX:FlightRecorderOptions:stackdepth={JFR_STACK_DEPTH}"
        ),
        "spark.sql.warehouse.dir": settings.warehouse,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.adaptive.enabled": "true",
        # Fixed per-query costs that dominate small cycles (docs/design.md): Delta's default of 50
        # partitions to rebuild a table snapshot, and compiling whole-stage code for every new query.
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.codegen.wholeStage": "false",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        # Delta computes a MERGE's source twice (to find the files to rewrite, then to write them) unless
        # it materializes it, which by default it does only for sources it deems nondeterministic. The
        # incremental models' sources join and aggregate whole tables: computed once, kept for the merge
        # (docs/benchmarks.md, "MERGE sources and pruning").
        "spark.databricks.delta.merge.materializeSource": "all",
        "spark.hadoop.fs.s3a.endpoint": s3_endpoint,
        "spark.hadoop.fs.s3a.endpoint.region": settings.region,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(s3_endpoint.startswith("https")).lower(),
    }


def spark_java_env(environ: Mapping[str, str] = os.environ, jdk_root: Path = JDK_ROOT) -> dict[str, str]:
    """JAVA_HOME for the Spark server: ECOM_SPARK_JAVA_HOME when set, else the newest JDK under jdk_root
    that Spark 4.2 runs on and that is newer than 17 (21, or 25.0.3 and later), even when JAVA_HOME names
    another (it stays Maven's and DynamoDB Local's), else nothing: the server runs on _java()'s JDK. On
    Java 25 the server spent about a fifth less CPU on the same dbt builds than on Java 17
    (docs/benchmarks.md, "The Spark server on Java 25")."""
    chosen = environ.get("ECOM_SPARK_JAVA_HOME")
    if not chosen:
        candidates = [(version, home) for home in jdk_root.glob("*") if (version := _jdk_version(home))]
        supported = [(v, home) for v, home in candidates if v[0] == 21 or (v[0] == 25 and v >= (25, 0, 3))]
        chosen = str(max(supported)[1]) if supported else None
    return {"JAVA_HOME": chosen} if chosen else {}


def _jdk_version(home: Path) -> tuple[int, ...] | None:
    """A JDK's version from its `release` file (JAVA_VERSION="25.0.3"), None if it has none."""
    try:
        lines = (home / "release").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key == "JAVA_VERSION":
            with contextlib.suppress(ValueError):
                return tuple(int(part) for part in value.strip('"').split("."))
    return None


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    return str(Path(java_home) / "bin" / "java") if java_home else "java"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (FileNotFoundError, IndexError):
        return False


def _terminate_groups(pids: list[int], timeout_s: float = 10.0) -> None:
    """SIGTERM every service's process group at once, then SIGKILL what is left after the timeout. The
    services stop in about a second when healthy; their state (Derby, SQLite, the warehouse) survives a
    kill. One shared deadline: a service slow to stop does not hold up the others' shutdown. None needs
    another to stop: Spark has no write to S3 in flight once its clients are gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(_group_alive(pid) for pid in pids):
        time.sleep(0.2)
    for pid in filter(_group_alive, pids):
        log.warning("process group %s did not stop within %.0fs of SIGTERM: killed", pid, timeout_s)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _reap(pid)


def _group_alive(pid: int) -> bool:
    """Whether the group still has a live process; a zombie leader that we started is reaped here."""
    _reap(pid)
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return not _is_zombie(pid)


def _reap(pid: int) -> None:
    """Collect the exit status of a service this process started, so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return
