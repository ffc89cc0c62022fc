"""Running the shipped nginx site in tests: rewritten onto free loopback ports and test
certificates, inside a minimal ``nginx.conf`` of its own (nothing under /etc is touched)."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "kywash.conf"
SERVER_NAME = "laundry.example.edu"


def write_test_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``SERVER_NAME``: (fullchain.pem, privkey.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    chain, private = directory / "fullchain.pem", directory / "privkey.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return chain, private


def site_for_test(directory: Path, *, http_port: int, https_port: int, cloud_port: int, mqtt_port: int) -> str:
    """The shipped site with only its ports, certificate paths and ACME root moved to ``directory``."""
    chain, private = write_test_certificate(directory)
    text = SITE.read_text()
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        f"/etc/letsencrypt/live/{SERVER_NAME}/fullchain.pem": str(chain),
        f"/etc/letsencrypt/live/{SERVER_NAME}/privkey.pem": str(private),
        "/var/www/letsencrypt": str(directory / "acme"),
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{cloud_port};",
        "server 127.0.0.1:9001;": f"server 127.0.0.1:{mqtt_port};",
    }
    for old, new in replacements.items():
        assert old in text, f"{old!r} is no longer in {SITE.name}: update tests/support/nginx.py"
        text = text.replace(old, new)
    return text


def write_nginx_conf(directory: Path, site: str) -> Path:
    """A whole ``nginx.conf`` (foreground, logs to stderr, temp files in ``directory``)."""
    (directory / "kywash.conf").write_text(site)
    for sub in ("body", "proxy", "acme"):
        (directory / sub).mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # as root, workers would drop to nobody
    conf = directory / "nginx.conf"
    conf.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {directory}/nginx.pid;\nerror_log stderr warn;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        "  access_log off;\n"
        f"  client_body_temp_path {directory}/body;\n  proxy_temp_path {directory}/proxy;\n"
        f"  fastcgi_temp_path {directory}/proxy;\n  uwsgi_temp_path {directory}/proxy;\n"
        f"  scgi_temp_path {directory}/proxy;\n"
        f"  include {directory}/kywash.conf;\n"
        "}\n"
    )
    return conf


def check_conf(conf: Path) -> subprocess.CompletedProcess[str]:
    assert NGINX is not None
    return subprocess.run(
        [NGINX, "-t", "-q", "-p", str(conf.parent), "-e", "stderr", "-c", str(conf)],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )


class NginxProcess:
    """nginx in the foreground on ``conf``; a context manager that stops it."""

    def __init__(self, conf: Path, port: int) -> None:
        assert NGINX is not None
        self.port = port
        self.process = subprocess.Popen(
            [NGINX, "-p", str(conf.parent), "-e", "stderr", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_listening(self, timeout: float = 10) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read() if self.process.stderr else ''}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not listen")

    def __enter__(self) -> NginxProcess:
        self.wait_listening()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self.process.stderr is not None:
            self.process.stderr.close()
