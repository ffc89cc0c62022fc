"""What a newcomer sees of ``run.py`` and the ``kywash`` command's help."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import venv
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _run_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_py", ROOT / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_command_prints_the_commands_not_a_docstring() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "run.py")], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stdout.startswith("usage: python3 run.py COMMAND")
    for command in ("demo", "test", "install"):
        assert f"\n  {command} " in done.stdout
    assert "``" not in done.stdout  # the module docstring's markup is not for users


def test_an_unknown_command_says_so() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "dmeo"], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "unknown command 'dmeo'" in done.stderr and "usage:" in done.stderr


def test_usage_lines_name_the_kywash_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "launchers.cli", "demo", "--help"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.startswith("Usage: kywash demo")
    assert "launchers.cli" not in done.stdout


def test_the_editable_install_prints_no_setuptools_box(tmp_path: Path) -> None:
    """The same pip environment as run.py, installing KY Wash (no dependencies) into a fresh venv."""
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(python),
         "install", "-q", "--no-deps", "-e", str(ROOT)],
        capture_output=True, text=True, check=False, env=_run_py().pip_environment(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Editable installation" not in done.stdout + done.stderr
    assert "!!" not in done.stdout + done.stderr
