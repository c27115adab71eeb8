"""manage.py bridge_node: the operators' CLI."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from bridges.crypto import decrypt_text
from bridges.models import BridgeNode

from .factories import BridgeNodeFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("bridge_node", *args, stdout=out)
    return out.getvalue()


def test_add_with_a_generated_secret_writes_it_for_the_node(tmp_path):
    secret_file = tmp_path / "node.secret"
    output = run("add", "win-cli", "--address", "https://win-cli:8740", "--region", "eu", "--generate-secret", str(secret_file))
    node = BridgeNode.objects.get(node_id="win-cli")
    assert decrypt_text(node.secret_encrypted) == secret_file.read_text().strip()
    assert oct(secret_file.stat().st_mode)[-3:] == "600"
    assert "down until its first heartbeat" in output


def test_add_refuses_a_short_secret(tmp_path):
    secret_file = tmp_path / "short.secret"
    secret_file.write_text("too-short")
    with pytest.raises(CommandError, match="32 characters"):
        run("add", "win-x", "--address", "https://x:8740", "--region", "eu", "--secret-file", str(secret_file))


def test_list_and_drain(tmp_path):
    BridgeNodeFactory(node_id="win-list", region="ap")
    assert "win-list" in run("list")
    assert "draining" in run("drain", "win-list")
    assert BridgeNode.objects.get(node_id="win-list").status == BridgeNode.Status.DRAINING


def test_unknown_node_is_a_clear_error():
    with pytest.raises(CommandError, match="no bridge node"):
        run("drain", "nope")
