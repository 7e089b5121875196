"""``durabletask sidecar --dashboard``: the URL is printed, the page serves, setups fail clearly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from durabletask.sidecar.program import DASHBOARD_PREFIX
from tests.durabletask.dashboard.conftest import Http
from tests.durabletask.helpers.pipes import read_line
from tests.durabletask.process.procs import cli_sidecar

pytest.importorskip("aiohttp", reason="the dashboard needs aiohttp (pip install '.[dashboard]')")
pytestmark = pytest.mark.slow


def test_the_cli_prints_the_dashboard_url_after_the_ready_line_and_serves_it():
    with cli_sidecar("--memory", "--port", "0", "--dashboard-port", "0",
                     "--log-level", "WARNING") as sidecar:
        line = read_line(sidecar.process.stdout, 10).strip()
        url = line.removeprefix(DASHBOARD_PREFIX)
        page = Http(url).get("/")
        info = Http(url).get("/api/info")

    assert line.startswith(DASHBOARD_PREFIX)
    assert url.startswith("http://127.0.0.1:")
    assert url.endswith("/")
    assert page.status == 200
    assert b"app.js" in page.body
    assert info.json["hubs"] == []


def test_a_dashboard_bound_beyond_localhost_names_is_warned_about():
    # 127.0.0.2 is still this machine, but not a name the loopback guard knows.
    with cli_sidecar("--memory", "--port", "0", "--dashboard-host", "127.0.0.2",
                     "--dashboard-port", "0", "--log-level", "WARNING") as sidecar:
        url = read_line(sidecar.process.stdout, 10).strip().removeprefix(DASHBOARD_PREFIX)
        answer = Http(url).get("/api/info")
        sidecar.process.terminate()
        _, stderr = sidecar.process.communicate(timeout=10)

    assert url.startswith("http://127.0.0.2:")
    assert answer.status == 200
    assert b"binding the dashboard to 127.0.0.2" in stderr


def test_without_aiohttp_the_dashboard_is_refused_in_one_line_naming_the_extra():
    # A child process where aiohttp cannot be imported, as after a plain `pip install`.
    code = (
        "import sys; sys.modules['aiohttp'] = None\n"
        "from durabletask.cli import main\n"
        "sys.exit(main(['sidecar', '--memory', '--port', '0', '--dashboard-port', '0']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL, check=False)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "pip install 'durabletask[dashboard]'" in result.stderr
