"""``kywash broker``: the embedded broker as its own process, stopped cleanly by SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from kywash.broker import free_port
from tests.support.mosquitto import wait_for_port


def test_broker_command_serves_mqtt_and_stops_on_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kywash.cli", "broker", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_for_port("127.0.0.1", port, 20), "broker did not listen"
        got = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv311)
        client.on_message = lambda *_: got.set()
        client.connect("127.0.0.1", port)
        client.loop_start()
        client.subscribe("kywash/v1/x/y/status", qos=1)
        client.publish("kywash/v1/x/y/status", b"{}", qos=1, retain=True).wait_for_publish(5)
        assert got.wait(5)
        client.loop_stop()
        client.disconnect()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert f"mqtt://127.0.0.1:{port}" in output
    assert "Traceback" not in output
