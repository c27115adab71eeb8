"""The agent serving HTTPS (production set-up): the client pins the node's CA and refuses other certificates."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bridges.protocol import AgentClient, TransportError, wait_until_healthy

from .agent_processes import spawn_agent


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_agent(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(directory, "node")
    agent = spawn_agent(directory, "win-tls", tls=(cert, key))
    yield agent, cert, directory
    agent.stop()


def test_client_pinning_the_node_certificate_talks_over_tls(tls_agent):
    agent, cert, _ = tls_agent
    client = AgentClient(agent.url, agent.node_id, agent.secret, ca_file=str(cert))
    assert wait_until_healthy(client)["node_id"] == "win-tls"


def test_client_refuses_a_certificate_it_does_not_trust(tls_agent):
    agent, _, directory = tls_agent
    other_cert, _ = self_signed(directory, "impostor")
    client = AgentClient(agent.url, agent.node_id, agent.secret, ca_file=str(other_cert))
    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        client.health()
