"""``kywash broker``: the embedded broker as its own process, stopped cleanly by SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

from launchers.broker import free_port
from tests.support.mosquitto import wait_for_port
from tests.support.mqtt_watch import MqttWatcher


def test_broker_command_serves_mqtt_and_stops_on_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "launchers.cli", "broker", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_for_port("127.0.0.1", port, 20), "broker did not listen"
        with MqttWatcher("127.0.0.1", port, "kywash/v1/x/y/status") as client:
            client.publish("kywash/v1/x/y/status", b"{}", retain=True)
            client.next("/status", timeout=5)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert f"mqtt://127.0.0.1:{port}" in output
    assert "Traceback" not in output
