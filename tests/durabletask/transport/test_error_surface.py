"""The SDK error surface: no grpc import from the engine, lazy names, attempts in messages."""

from __future__ import annotations

import pickle
import subprocess
import sys

import grpc

from durabletask.internal.transport.errors import CallInfo, translate_rpc_error


def test_importing_task_and_errors_does_not_import_grpc():
    code = ("import sys, durabletask.task, durabletask.errors; "
            "assert 'grpc' not in sys.modules, 'grpc was imported'; "
            "from durabletask.errors import SidecarError; "
            "assert 'grpc' in sys.modules; print(SidecarError.__module__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "durabletask.errors"


def test_lazy_sidecar_errors_are_listed_by_dir_and_still_pickle():
    import durabletask.errors as errors

    assert {"SidecarError", "SidecarUnavailableError"} <= set(dir(errors))
    error = errors.SidecarUnavailableError(
        "m", code=grpc.StatusCode.UNAVAILABLE, details="d", method="GetInstance",
        address="a", attempts=3)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.attempts, copy.transport_failure) == (type(error), 3, True)


class _Raw(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "boom"


def test_translated_error_names_the_attempts_when_the_call_was_retried():
    info = CallInfo("GetInstance", "127.0.0.1:1", "abc")
    error = translate_rpc_error(_Raw(grpc.StatusCode.UNAVAILABLE), info, attempts=3)
    assert "[UNAVAILABLE, 3 attempts]" in str(error)
    assert error.transport_failure  # type: ignore[attr-defined]


def test_long_poll_that_ran_out_while_retrying_raises_timeout_error():
    info = CallInfo("WaitForInstanceCompletion", "127.0.0.1:1", "abc", 5.0)
    error = translate_rpc_error(_Raw(grpc.StatusCode.UNAVAILABLE), info, attempts=9,
                                deadline_passed=True)
    assert isinstance(error, TimeoutError)
    assert "9 attempts" in str(error)
