"""Run the shipped ``mosquitto.conf`` on free loopback ports, with test files in place of /etc ones.

``rewrite_conf`` changes only ``listener`` lines (port, and loopback as the address), the
file paths and ``user``; ``changed_keys`` lets a test prove nothing else moved.
``make_tls_files`` writes a throwaway CA and a server certificate for ``localhost`` and
127.0.0.1 with ``cryptography``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import subprocess
from dataclasses import dataclass
from pathlib import Path

from launchers.broker import free_port
from tests.support.mosquitto import find_mosquitto, wait_for_port

SHIPPED_CONF = Path(__file__).resolve().parents[2] / "mosquitto.conf"
PATH_KEYS = ("password_file", "acl_file", "persistence_location", "cafile", "certfile", "keyfile")
REWRITTEN_KEYS = frozenset({"listener", "user", *PATH_KEYS})


def conf_lines(text: str) -> list[list[str]]:
    """Every setting (not comment, not blank) as its words, in order."""
    return [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def rewrite_conf(text: str, ports: dict[int, int], paths: dict[str, Path], user: str) -> str:
    out = []
    for line in text.splitlines():
        words = line.split()
        key = words[0] if words else ""
        if key == "listener":
            out.append(f"listener {ports[int(words[1])]} 127.0.0.1")
        elif key in paths:
            out.append(f"{key} {paths[key]}" + ("/" if key == "persistence_location" else ""))
        elif key == "user":
            out.append(f"user {user}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def changed_keys(before: str, after: str) -> set[str]:
    """Keys of settings that differ between two configs (which must have the same settings)."""
    old, new = conf_lines(before), conf_lines(after)
    if [w[0] for w in old] != [w[0] for w in new]:
        raise AssertionError("the rewritten config adds, drops or reorders settings")
    return {a[0] for a, b in zip(old, new, strict=True) if a != b}


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "KY Wash test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    files = TlsFiles(directory / "ca.crt", directory / "broker.crt", directory / "broker.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    files.key.write_bytes(pem)
    files.key.chmod(0o600)
    return files


class ProductionBroker:
    """Mosquitto with the shipped config; ``ports`` maps its listener ports (1883, 8883, 9001) to free ones."""

    def __init__(self, workdir: Path, passwd: Path, acl: Path, tls: TlsFiles) -> None:
        binary = find_mosquitto()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed")
        self.shipped = SHIPPED_CONF.read_text(encoding="utf-8")
        self.ports = {int(w[1]): free_port() for w in conf_lines(self.shipped) if w[0] == "listener"}
        (workdir / "db").mkdir(exist_ok=True)
        paths = {
            "password_file": passwd, "acl_file": acl, "persistence_location": workdir / "db",
            "cafile": tls.ca, "certfile": tls.cert, "keyfile": tls.key,
        }  # fmt: skip
        self.text = rewrite_conf(self.shipped, self.ports, paths, getpass.getuser())
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(self.text, encoding="utf-8")
        self.log = workdir / "mosquitto.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([binary, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT)
        if not all(wait_for_port("127.0.0.1", port, 10) for port in self.ports.values()):
            self.close()
            raise RuntimeError(f"mosquitto did not start: {self.log.read_text(errors='replace').strip()}")

    def reload(self) -> None:
        """SIGHUP: re-read the password and ACL files, as ``systemctl reload mosquitto`` does."""
        self.proc.send_signal(1)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
