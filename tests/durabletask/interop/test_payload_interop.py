"""Large payloads across SDKs: the official 1.12.0 and ours share one Azurite container.

Both directions through our embedded sidecar: a payload the official client externalized
resolves on our worker, whose externalized result resolves in the official client; and a
payload our client externalized resolves on the official worker, whose result resolves in
our client. The official SDK runs with its own BlobPayloadStore in its own venv and process
(``official_payload_driver.py``); its venv gets the official extra
``durabletask[azure-blob-payloads]`` the first time.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("azure.storage.blob")

from azure.storage.blob import BlobServiceClient  # noqa: E402

from durabletask import client, task  # noqa: E402
from durabletask.extensions.azure_blob_payloads import (  # noqa: E402
    BlobPayloadStore,
    BlobPayloadStoreOptions,
)
from durabletask.testing import InMemoryOrchestrationBackend  # noqa: E402
from tests.durabletask.helpers.azurite import Azurite, azurite  # noqa: E402, F401
from tests.durabletask.interop.conftest import (  # noqa: E402
    DRIVER_RUN_TIMEOUT_SECONDS,
    PIP_INSTALL_TIMEOUT_SECONDS,
    PROVISION_LOCK_TIMEOUT_SECONDS,
    SERVE_START_TIMEOUT_SECONDS,
    STDERR_TAIL_CHARS,
    OfficialEnvError,
    _official_env,
    _under_ci,
    read_first_line,
    stop_process,
)
from tests.durabletask.interop.official_blob import ensure_blob_extra  # noqa: E402

pytestmark = [pytest.mark.slow,
              pytest.mark.timeout(PROVISION_LOCK_TIMEOUT_SECONDS + PIP_INSTALL_TIMEOUT_SECONDS)]

DRIVER = Path(__file__).with_name("official_payload_driver.py")
THRESHOLD_BYTES = 1024
INPUT_CHARS = 5000  # as the driver's
TIMEOUT = 60
# The official token format, which both SDKs must write: blob:v1:<container>:<id>/<hex>.
TOKEN = r"blob:v1:{container}:{instance_id}/[0-9a-f]{{32}}"


@pytest.fixture(scope="session")
def official_blob_python(official_python: Path) -> Path:
    """The official venv, with the official extra for its BlobPayloadStore installed."""
    try:
        return ensure_blob_extra(official_python)
    except (OfficialEnvError, OSError, subprocess.TimeoutExpired) as exc:
        reason = f"the official azure-blob-payloads extra is unavailable: {exc}"
        if _under_ci():
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def container() -> str:
    """A fresh container name for one test."""
    return f"interop-{uuid.uuid4().hex[:8]}"


def _driver_args(mode: str, address: str, emulator: Azurite, container: str) -> list[str]:
    return [str(DRIVER), mode, "--address", address, "--connection-string",
            emulator.connection_string, "--container", container,
            "--threshold", str(THRESHOLD_BYTES)]


def _our_store(emulator: Azurite, container: str) -> BlobPayloadStore:
    return BlobPayloadStore(BlobPayloadStoreOptions(
        connection_string=emulator.connection_string, container_name=container,
        threshold_bytes=THRESHOLD_BYTES))


def payload_upper(ctx: task.ActivityContext, text: str) -> str:
    return text.upper()


def payload_echo(ctx: task.OrchestrationContext, text: str) -> Any:
    loud = yield ctx.call_activity("payload_upper", input=text)
    return {"loud": loud, "length": len(text)}


def _stored_as_tokens(sidecar: InMemoryOrchestrationBackend, instance_id: str,
                      container: str) -> list[bool]:
    with client.TaskHubGrpcClient(host_address=sidecar.address) as plain:
        state = plain.get_orchestration_state(instance_id)
    assert state is not None
    pattern = TOKEN.format(container=container, instance_id=instance_id)
    return [re.fullmatch(pattern, v or "") is not None
            for v in (state.serialized_input, state.serialized_output)]


def _all_gzip(emulator: Azurite, container: str) -> bool:
    with BlobServiceClient.from_connection_string(emulator.connection_string) as service:
        box = service.get_container_client(container)
        blobs = [box.download_blob(b.name).readall() for b in box.list_blobs()]
    return len(blobs) == 4 and all(gzip.decompress(b) for b in blobs)


def test_official_client_payloads_resolve_on_our_worker_and_ours_in_the_official_client(
    official_blob_python: Path, official_workdir: Path, azurite: Azurite,  # noqa: F811
    sidecar: InMemoryOrchestrationBackend, make_worker: Any, container: str,
) -> None:
    with _our_store(azurite, container) as store:
        make_worker([payload_echo], [payload_upper], payload_store=store).start()
        done = subprocess.run(
            [str(official_blob_python), "-I",
             *_driver_args("schedule", sidecar.address, azurite, container)],
            capture_output=True, text=True, timeout=DRIVER_RUN_TIMEOUT_SECONDS,
            cwd=official_workdir, env=_official_env(), stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stderr[-STDERR_TAIL_CHARS:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["status"] == "COMPLETED"
    assert result["output"] == {"loud": "O" * INPUT_CHARS, "length": INPUT_CHARS}
    # The official client stored the input, our worker the output: tokens in the sidecar.
    assert _stored_as_tokens(sidecar, result["instance_id"], container) == [True, True]
    assert _all_gzip(azurite, container)


@pytest.fixture
def _official_payload_worker(
    official_blob_python: Path, official_workdir: Path, azurite: Azurite,  # noqa: F811
    sidecar: InMemoryOrchestrationBackend, container: str,
) -> Iterator[None]:
    """The official worker with its BlobPayloadStore, serving our sidecar."""
    with subprocess.Popen(
        [str(official_blob_python), "-I",
         *_driver_args("worker", sidecar.address, azurite, container)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        cwd=official_workdir, env=_official_env(),
    ) as proc:
        try:
            assert json.loads(read_first_line(proc, SERVE_START_TIMEOUT_SECONDS) or "{}")
            yield
        finally:
            stop_process(proc)


@pytest.mark.usefixtures("_official_payload_worker")
def test_our_client_payloads_resolve_on_the_official_worker_and_its_in_our_client(
    azurite: Azurite,  # noqa: F811
    sidecar: InMemoryOrchestrationBackend, container: str,
) -> None:
    with _our_store(azurite, container) as store, client.TaskHubGrpcClient(
            host_address=sidecar.address, payload_store=store) as c:
        instance_id = c.schedule_new_orchestration("payload_echo", input="u" * INPUT_CHARS)
        state = c.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT)

    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert state.get_output() == {"loud": "U" * INPUT_CHARS, "length": INPUT_CHARS}
    assert _stored_as_tokens(sidecar, instance_id, container) == [True, True]
    assert _all_gzip(azurite, container)
