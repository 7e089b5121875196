"""The sidecar's command line: flags map to SidecarOptions and back without loss."""

from __future__ import annotations

import argparse

import pytest

from durabletask.sidecar.cli_flags import (
    SidecarLaunch,
    add_sidecar_arguments,
    launch_from_args,
    launch_to_args,
    option_flag,
)
from durabletask.sidecar.options import SidecarOptions


def _parse(*argv: str) -> SidecarLaunch:
    parser = argparse.ArgumentParser()
    add_sidecar_arguments(parser)
    return launch_from_args(parser.parse_args(argv))


def test_launch_defaults_to_loopback_port_4001_and_a_database_in_the_cwd():
    launch = _parse()

    assert (launch.host, launch.port, launch.db_path) == ("127.0.0.1", 4001, "durabletask.db")
    assert launch.options == SidecarOptions()
    assert launch.parent_pid is None


def test_launch_reads_every_documented_flag():
    launch = _parse(
        "--host", "0.0.0.0", "--port", "0", "--memory", "--max-history-size", "50",
        "--health-ping-interval", "2.5", "--max-recovery-attempts", "1",
        "--max-message-bytes", "2048", "--log-level", "debug",
    )

    assert launch.db_path is None
    assert launch.log_level == "DEBUG"
    assert launch.options == SidecarOptions(
        max_history_size=50, health_ping_interval_seconds=2.5, max_recovery_attempts=1,
        max_message_bytes=2048,
    )


def test_launch_round_trips_through_its_arguments():
    launch = SidecarLaunch(
        host="127.0.0.1", port=0, db_path="x.db", log_level="WARNING", parent_pid=42,
        options=SidecarOptions(abandon_backoff_base_seconds=0.3, max_history_size=7),
    )

    assert _parse(*launch_to_args(launch)) == launch


def test_launch_names_the_flag_of_an_out_of_range_option():
    with pytest.raises(ValueError, match="^--max-message-bytes: max_message_bytes must be"):
        _parse("--max-message-bytes", "10")


def test_launch_rejects_db_together_with_memory(capsys):
    with pytest.raises(SystemExit):
        _parse("--db", "x.db", "--memory")

    assert "not allowed with argument" in capsys.readouterr().err


def test_option_flag_drops_the_seconds_unit():
    assert option_flag("health_ping_interval_seconds") == "--health-ping-interval"
    assert option_flag("max_history_size") == "--max-history-size"


def test_launch_serves_the_dashboard_on_4002_with_the_flag_or_on_the_given_port():
    assert _parse().dashboard_port is None
    assert _parse("--dashboard").dashboard_port == 4002
    launch = _parse("--dashboard-port", "0", "--dashboard-host", "::1")
    assert (launch.dashboard_port, launch.dashboard_host) == (0, "::1")
    assert _parse(*launch_to_args(launch)) == launch
    with pytest.raises(ValueError, match="^--dashboard-port must be between 0 and 65535"):
        _parse("--dashboard-port", "70000")
