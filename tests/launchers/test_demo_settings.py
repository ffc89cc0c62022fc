"""``kywash demo --speed N`` speeds the machines and simulated students, not the rules about people."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.platform.settings import CloudSettings
from launchers.demo import HUMAN_MINUTES, demo_cloud_settings

DEFAULTS = CloudSettings()


@pytest.mark.parametrize("speed", [1, 10, 60, 600])
def test_windows_for_people_last_as_long_in_real_time(tmp_path: Path, speed: float) -> None:
    settings = demo_cloud_settings(tmp_path, "mqtt://127.0.0.1:1883", speed)
    real_minutes = {name: getattr(settings, name) / speed for name in HUMAN_MINUTES}
    assert real_minutes["claim_confirm_minutes"] == DEFAULTS.claim_confirm_minutes  # 5 real minutes to start it
    assert real_minutes["hold_minutes"] == DEFAULTS.hold_minutes
    assert real_minutes["reminder_minutes"] == DEFAULTS.reminder_minutes
    if speed <= 60:
        assert real_minutes["access_token_minutes"] == DEFAULTS.access_token_minutes
    else:  # the setting's upper bound (a day of demo time) still leaves minutes of real time
        assert settings.access_token_minutes == 24 * 60 and real_minutes["access_token_minutes"] >= 2


def test_machine_rules_stay_on_the_demo_clock(tmp_path: Path) -> None:
    settings = demo_cloud_settings(tmp_path, "mqtt://127.0.0.1:1883", 60)
    assert settings.summary_every_s == DEFAULTS.summary_every_s
    assert settings.replay_after_s == DEFAULTS.replay_after_s
    assert settings.environment == "development" and settings.database_url.endswith("cloud.db")
