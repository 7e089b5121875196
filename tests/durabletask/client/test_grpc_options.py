"""Option dataclasses: defaults, validation messages, gRPC channel arguments."""

from __future__ import annotations

import json
import logging
from dataclasses import fields
from typing import Any

import pytest

from durabletask.grpc_options import (
    GrpcChannelOptions,
    GrpcClientResiliencyOptions,
    GrpcRetryPolicyOptions,
    GrpcWorkerResiliencyOptions,
)


def test_grpc_options_defaults_match_the_official_api() -> None:
    retry = GrpcRetryPolicyOptions()
    assert (retry.max_attempts, retry.initial_backoff_seconds, retry.max_backoff_seconds,
            retry.backoff_multiplier, retry.retryable_status_codes) == (
        4, 0.05, 0.25, 2.0, ["UNAVAILABLE"])
    worker = GrpcWorkerResiliencyOptions()
    assert (worker.hello_timeout_seconds, worker.silent_disconnect_timeout_seconds,
            worker.channel_recreate_failure_threshold, worker.reconnect_backoff_base_seconds,
            worker.reconnect_backoff_cap_seconds) == (30.0, 120.0, 5, 1.0, 30.0)
    client = GrpcClientResiliencyOptions()
    assert (client.channel_recreate_failure_threshold,
            client.min_recreate_interval_seconds) == (5, 30.0)
    channel = GrpcChannelOptions()
    assert channel.max_send_message_length is None
    assert channel.raw_options == []


@pytest.mark.parametrize(
    "cls", [GrpcRetryPolicyOptions, GrpcChannelOptions, GrpcWorkerResiliencyOptions,
            GrpcClientResiliencyOptions],
)
def test_grpc_options_are_keyword_only_slotted_dataclasses(cls: type) -> None:
    assert hasattr(cls, "__slots__")
    with pytest.raises(TypeError):
        cls(1)
    assert [f.name for f in fields(cls)]


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (GrpcRetryPolicyOptions, {"max_attempts": 1}, "max_attempts must be an int >= 2"),
        (GrpcRetryPolicyOptions, {"initial_backoff_seconds": 0}, "initial_backoff_seconds"),
        (GrpcRetryPolicyOptions, {"retryable_status_codes": ["NOPE"]}, "status code names"),
        (GrpcChannelOptions, {"max_send_message_length": 0}, "max_send_message_length"),
        (GrpcChannelOptions, {"keepalive_time_ms": -5}, "keepalive_time_ms"),
        (GrpcChannelOptions, {"raw_options": [("a", 1, 2)]}, "raw_options"),
        (GrpcWorkerResiliencyOptions, {"hello_timeout_seconds": 0}, "hello_timeout_seconds"),
        (GrpcWorkerResiliencyOptions, {"silent_disconnect_timeout_seconds": -1}, ">= 0"),
        (GrpcWorkerResiliencyOptions,
         {"reconnect_backoff_base_seconds": 2.0, "reconnect_backoff_cap_seconds": 1.0},
         "reconnect_backoff_cap_seconds must be a number >= reconnect_backoff_base_seconds"),
        (GrpcWorkerResiliencyOptions, {"channel_recreate_failure_threshold": 1.5}, "int"),
        (GrpcClientResiliencyOptions, {"min_recreate_interval_seconds": -1}, "min_recreate"),
        (GrpcClientResiliencyOptions, {"default_call_timeout_seconds": 0}, "default_call"),
    ],
)
def test_grpc_options_reject_invalid_values_naming_field_and_constraint(
    cls: type, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as info:
        cls(**kwargs)
    assert cls.__name__ in str(info.value)


def test_grpc_options_zero_threshold_and_silent_timeout_are_valid_to_disable() -> None:
    options = GrpcWorkerResiliencyOptions(
        channel_recreate_failure_threshold=0, silent_disconnect_timeout_seconds=0
    )
    assert options.channel_recreate_failure_threshold == 0


def test_channel_options_to_grpc_options_maps_each_field() -> None:
    options = GrpcChannelOptions(
        max_receive_message_length=10,
        max_send_message_length=20,
        keepalive_time_ms=30,
        keepalive_timeout_ms=40,
        keepalive_permit_without_calls=True,
        raw_options=[("grpc.custom", "x")],
    )
    assert options.to_grpc_options() == [
        ("grpc.max_receive_message_length", 10),
        ("grpc.max_send_message_length", 20),
        ("grpc.keepalive_time_ms", 30),
        ("grpc.keepalive_timeout_ms", 40),
        ("grpc.max_reconnect_backoff_ms", 5000),
        ("grpc.initial_reconnect_backoff_ms", 1000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.custom", "x"),
    ]


def test_channel_options_keep_grpc_first_reconnect_delay_under_its_cap() -> None:
    options = dict(GrpcChannelOptions(reconnect_backoff_max_ms=300).to_grpc_options())
    assert options["grpc.initial_reconnect_backoff_ms"] == 300
    assert options["grpc.max_reconnect_backoff_ms"] == 300


def test_channel_options_with_retry_policy_enables_retries_and_service_config() -> None:
    retry = GrpcRetryPolicyOptions(methods=["GetInstance"])
    options = dict(GrpcChannelOptions(retry_policy=retry).to_grpc_options())
    assert options["grpc.enable_retries"] == 1
    config = json.loads(options["grpc.service_config"])
    method_config = config["methodConfig"][0]
    assert method_config["name"] == [{"service": "TaskHubSidecarService", "method": "GetInstance"}]
    assert method_config["retryPolicy"] == {
        "maxAttempts": 4,
        "initialBackoff": "0.05s",
        "maxBackoff": "0.25s",
        "backoffMultiplier": 2.0,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }


def test_retry_policy_without_methods_applies_to_all_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="durabletask"):
        config = GrpcRetryPolicyOptions().to_service_config()
    assert config["methodConfig"][0]["name"] == [{}]
    assert "every RPC" in caplog.text
