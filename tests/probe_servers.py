"""Real servers on 127.0.0.1 for the availability tests: HTTP(S) whose answer the test
changes (status, body, delay), a TCP listener, both stoppable and restartable on the
same port; and a CA with a short-lived server certificate made with `cryptography`."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class FakeHttp:
    """HTTP/1.1 on 127.0.0.1; change `status`, `body`, `delay` between probes."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.status = 200
        self.body = b"<html>Layanan berjalan normal</html>"
        self.delay = 0.0
        self.port = 0
        self.ssl = ssl_context
        self.server: asyncio.Server | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0

    async def start(self) -> FakeHttp:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, ssl=self.ssl)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl else 'http'}://127.0.0.1:{self.port}/health"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            if self.delay:
                await asyncio.sleep(self.delay)
            head = (
                f"HTTP/1.1 {self.status} X\r\nContent-Type: text/html\r\nContent-Length: {len(self.body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            writer.write(head + self.body)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.in_flight -= 1
            writer.close()


class FakeTcp:
    """Accepts and closes connections; stop() makes the port refuse."""

    def __init__(self) -> None:
        self.port = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> FakeTcp:
        async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def make_tls(tmp: Path, days: int = 3) -> tuple[ssl.SSLContext, ssl.SSLContext, dt.datetime]:
    """(server context, client context trusting the CA, the certificate's notAfter)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA Kementerian")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = (now + dt.timedelta(days=days)).replace(microsecond=0)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file, ca_file = tmp / "server.pem", tmp / "server.key", tmp / "ca.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(ca_file))
    return server, client, not_after
