"""The constructor-argument bundle: picked by name, passed on whole, never mutating input."""

from __future__ import annotations

import inspect

import pytest

from durabletask.client import AsyncTaskHubGrpcClient, TaskHubGrpcClient
from durabletask.internal.requests.arguments import ClientArguments, ConnectionArguments
from durabletask.worker import TaskHubGrpcWorker


def test_of_picks_the_bundles_fields_and_ignores_other_parameters():
    args = ClientArguments.of({"host_address": "127.0.0.1:1", "taskhub": "hub",
                               "default_version": "2", "self": object()})
    assert args.host_address == "127.0.0.1:1"
    assert args.default_version == "2"
    assert args.secure_channel is False  # a default of the core constructors


def test_with_interceptors_appends_inside_the_callers_and_copies_them():
    mine = ["user"]
    args = ConnectionArguments.of({"interceptors": mine}).with_interceptors(["scheduler"])
    assert list(args.interceptors or ()) == ["user", "scheduler"]
    assert mine == ["user"]


@pytest.mark.parametrize(("bundle", "constructor"), [
    (ClientArguments, TaskHubGrpcClient),
    (ClientArguments, AsyncTaskHubGrpcClient),
    (ConnectionArguments, TaskHubGrpcWorker),
])
def test_every_field_is_a_parameter_of_the_constructor_with_the_same_default(bundle, constructor):
    # keywords() is passed to these constructors whole: a field they lack would break them.
    parameters = inspect.signature(constructor.__init__).parameters
    for name, value in bundle().keywords().items():
        assert name in parameters, name
        assert parameters[name].default == value, name
