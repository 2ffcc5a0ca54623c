"""The pure parts of the metrics: labels of a call, the result label of a
reconcile, and RDD_METRICS's values."""

from __future__ import annotations

import grpc
import pytest

from rdd.config import environment_problems, metrics_enabled
from rdd.runtime.controller import DONE, RequeueAfter, TemporaryError, result_of
from rdd.server.metrics import rpc_type, split_method


def test_a_method_splits_into_service_and_name() -> None:
    assert split_method("/rdd.app.v1alpha1.AppService/Get") == (
        "rdd.app.v1alpha1.AppService",
        "Get",
    )


def test_rpc_types_are_go_grpc_prometheus_names() -> None:
    kinds = {
        (False, False): "unary",
        (False, True): "server_stream",
        (True, False): "client_stream",
        (True, True): "bidi_stream",
    }
    for (request, response), name in kinds.items():
        handler = grpc.unary_unary_rpc_method_handler(lambda r, c: r)
        handler = handler._replace(request_streaming=request, response_streaming=response)
        assert rpc_type(handler) == name


def test_reconcile_results_are_controller_runtime_labels() -> None:
    assert result_of(DONE) == "success"
    assert result_of(RequeueAfter(1.0)) == "requeue_after"
    assert result_of(TemporaryError("x", delay=1.0)) == "error"
    assert result_of(RuntimeError("x")) == "error"


@pytest.mark.parametrize("value", ["1", "TRUE", "yes", " on "])
def test_metrics_on(value: str) -> None:
    assert metrics_enabled({"RDD_METRICS": value})
    assert not [p for p in environment_problems({"RDD_METRICS": value}) if "METRICS" in p]


@pytest.mark.parametrize("value", ["", "0", "False", "off"])
def test_metrics_off(value: str) -> None:
    assert not metrics_enabled({"RDD_METRICS": value})
    assert not [p for p in environment_problems({"RDD_METRICS": value}) if "METRICS" in p]


def test_a_bad_value_is_refused_before_start() -> None:
    (problem,) = [p for p in environment_problems({"RDD_METRICS": "maybe"}) if "METRICS" in p]
    assert problem == 'RDD_METRICS: must be 1 or 0 (or true/false, yes/no, on/off), got "maybe"'
