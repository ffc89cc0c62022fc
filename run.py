#!/usr/bin/env python3
"""One entry point for a fresh clone: ``python3 run.py demo`` and ``python3 run.py test``.

It needs nothing but Python 3.11+: it makes a virtual environment in ``.venv`` on first
use (and again whenever ``pyproject.toml`` changes), installs KY Wash into it with the
extras the command needs, then hands over to ``kywash demo`` or to pytest. Any further
arguments are passed on (``python3 run.py demo --speed 60``, ``python3 run.py test -k edge``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
EXTRAS = {"demo": "", "test": "[test]", "install": "[test]"}


USAGE = """\
usage: python3 run.py COMMAND [options]

  demo     run the whole system: embedded broker, cloud, a simulated room, the web app
           (options: python3 run.py demo --help)
  test     run the test suite (pytest options pass through: python3 run.py test -k edge)
  install  only create or refresh the virtual environment in .venv

The first run creates .venv and installs KY Wash into it; nothing else is needed."""

PIP_QUIET = "ignore:Editable installation"
"""setuptools warns, boxed, on every editable install that a folder named like the package
may shadow it; here the folders *are* the package, so the warning tells a new user nothing."""


def pip_environment() -> dict[str, str]:
    """The environment for pip and the build backend it starts (which inherits it)."""
    env = dict(os.environ)
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS", ""), PIP_QUIET]))
    return env


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_environment(extras: str) -> Path:
    """Create or refresh .venv when pyproject.toml or the wanted extras have changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - run.py is the first thing an older Python meets
        sys.exit(f"KY Wash needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    stamp = VENV / ".kywash-installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    have = stamp.read_text().split() if stamp.exists() else []
    if want in have and venv_python().exists():
        return venv_python()
    if not venv_python().exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"Installing KY Wash{extras} into it (first run only) ...", flush=True)
    pip = [str(venv_python()), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=False, env=pip_environment())
    subprocess.run([*pip, "install", "-e", f"{ROOT}{extras}"], check=True, env=pip_environment())
    stamp.write_text("\n".join({*have, want}))
    return venv_python()


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    if argv[0] not in EXTRAS:
        print(f"run.py: unknown command {argv[0]!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    python = ensure_environment(EXTRAS[command])
    if command == "install":
        return 0
    if command == "demo":
        args = [str(python), "-m", "launchers.cli", "demo", *rest]  # its usage lines say "kywash"
    else:
        args = [str(python), "-m", "pytest", *rest]
    os.chdir(ROOT)
    if os.name == "nt":
        return subprocess.run(args, check=False).returncode
    os.execv(args[0], args)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
