"""Logs and metrics of a real stack through a whole lifecycle: every line a
service logs is one JSON object (ts, level, component, msg; reconcile lines
carry the object key), and with RDD_METRICS each service serves Prometheus
text at the URL `svc status -o json` reports, with controller-runtime's,
client-go's workqueue and go-grpc-prometheus's metric names."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from datetime import datetime

from prometheus_client.parser import text_string_to_metric_families

from tests.support.fixtures import Session
from tests.support.stack import Stack, has_condition, new_app
from tests.support.waiting import eventually

SERVICES = ("webhook", "limavm", "app")


def status_entries(stack: Stack) -> dict[str, dict]:
    result = subprocess.run(
        [sys.executable, "-m", "rdd.cli", "svc", "status", "-o", "json"],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["components"]


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """{sample name: [(labels, value)]} of one endpoint."""
    assert url.startswith("http://127.0.0.1:") and url.endswith("/metrics")
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def total(samples: dict, metric: str, /, **labels: str) -> float:
    return sum(
        value
        for found, value in samples.get(metric, [])
        if all(found.get(k) == v for k, v in labels.items())
    )


async def lifecycle(session: Session) -> None:
    api = session.api
    await api.apps.create(new_app(running=True))

    async def running():
        return has_condition(await api.apps.get("app"), "Running", "True")

    await eventually(running, timeout=30, message="App not Running")
    await api.apps.delete("app")


async def test_metrics_of_every_service_during_a_lifecycle(make_session: Callable[..., Session]):
    session = make_session(RDD_METRICS="1")
    entries = status_entries(session.stack)
    assert "metrics" not in entries["etcd"]
    urls = {name: entries[name]["metrics"] for name in SERVICES}
    await lifecycle(session)
    scraped = {name: scrape(url) for name, url in urls.items()}

    for name in ("app", "limavm"):
        samples = scraped[name]
        assert total(samples, "controller_runtime_reconcile_total", controller=name) > 0
        assert (
            total(samples, "controller_runtime_reconcile_total", controller=name, result="success")
            > 0
        )
        assert total(samples, "controller_runtime_reconcile_time_seconds_count", controller=name)
        assert total(samples, "workqueue_adds_total", name=name) > 0
        assert "workqueue_retries_total" in samples
        assert [labels for labels, _ in samples["workqueue_depth"]] == [{"name": name}]
    app = scraped["app"]
    for code, method in (("OK", "Create"), ("OK", "Delete")):
        assert total(
            app,
            "grpc_server_handled_total",
            grpc_service="rdd.app.v1alpha1.AppService",
            grpc_method=method,
            grpc_code=code,
            grpc_type="unary",
        ), (method, app.get("grpc_server_handled_total"))
    assert total(app, "grpc_server_handling_seconds_count", grpc_method="Create") >= 1
    assert total(
        scraped["webhook"],
        "grpc_server_handled_total",
        grpc_service="rdd.admission.v1.AdmissionService",
        grpc_code="OK",
    )
    assert total(
        scraped["limavm"], "grpc_server_handled_total", grpc_service="grpc.health.v1.Health"
    )


async def test_every_log_line_of_a_lifecycle_is_json(make_session: Callable[..., Session]):
    session = make_session()
    entries = status_entries(session.stack)
    assert all("metrics" not in entry for entry in entries.values())
    await lifecycle(session)
    session.stack.stop()
    for name in SERVICES:
        lines = session.stack.log(name).splitlines()
        assert len(lines) > 3
        for line in lines:
            event = json.loads(line)
            assert list(event)[:4] == ["ts", "level", "component", "msg"], line
            assert event["component"] == name and event["level"] in ("info", "warning", "debug")
            assert datetime.fromisoformat(event["ts"]).utcoffset().total_seconds() == 0
        assert json.loads(lines[0])["msg"] == "svc_start"
        assert json.loads(lines[-1])["msg"] == "stopped"
    keys = [
        json.loads(line).get("key")
        for name in ("app", "limavm")
        for line in session.stack.log(name).splitlines()
        if '"controller"' in line
    ]
    assert all(key in (None, "app", "default/rd", "default/rd-template") for key in keys), keys
    session.stack.start()  # for the fixture's clean-up check
