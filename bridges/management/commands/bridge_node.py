"""Operator CLI for bridge nodes: add/update, list, drain, undrain, run a heartbeat round."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bridges import services
from bridges.models import BridgeNode


class Command(BaseCommand):
    help = "Manage bridge nodes: add | list | drain | undrain | check"

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="register a node (or update it)")
        add.add_argument("node_id")
        add.add_argument("--address", required=True, help="agent base URL, e.g. https://win-eu-1:8740")
        add.add_argument("--region", required=True)
        add.add_argument("--capacity", type=int, default=8)
        secret = add.add_mutually_exclusive_group(required=True)
        secret.add_argument("--secret-file", type=Path, help="file holding the node's secret")
        secret.add_argument("--generate-secret", type=Path, metavar="FILE",
                            help="generate a secret and write it to FILE (copy it to the node)")
        actions.add_parser("list", help="nodes with status and load")
        for name in ("drain", "undrain"):
            actions.add_parser(name).add_argument("node_id")
        actions.add_parser("check", help="run one heartbeat round now")

    def handle(self, *args: object, **options: object) -> None:
        action = options["action"]
        if action == "add":
            self._add(options)
        elif action == "list":
            for node in BridgeNode.objects.all():
                self.stdout.write(
                    f"{node.node_id:<20} {node.region:<8} {node.status:<9} {node.reported_running}/{node.capacity} "
                    f"v{node.agent_version or '?'} {node.address} {node.last_error[:60]}"
                )
        elif action in ("drain", "undrain"):
            node = self._node(str(options["node_id"]))
            if action == "drain":
                moved = services.drain_node(node)
                self.stdout.write(f"{node.node_id}: draining, moved {len(moved)} terminal(s)")
            else:
                services.undrain_node(node)
                self.stdout.write(f"{node.node_id}: back in scheduling after its next heartbeat")
        elif action == "check":
            report = services.check_all_nodes()
            self.stdout.write(
                f"healthy {report.healthy} missed {report.missed} down {report.went_down} "
                f"moved {report.moved} restarted {report.restarted}"
            )

    def _node(self, node_id: str) -> BridgeNode:
        try:
            return BridgeNode.objects.get(node_id=node_id)
        except BridgeNode.DoesNotExist as missing:
            raise CommandError(f"no bridge node {node_id!r}") from missing

    def _add(self, options: dict) -> None:
        if options["generate_secret"]:
            secret = services.generate_node_secret()
            path: Path = options["generate_secret"]
            path.write_text(secret + "\n")
            path.chmod(0o600)
        else:
            secret = options["secret_file"].read_text().strip()
        try:
            node = services.register_node(
                node_id=options["node_id"], address=options["address"], region=options["region"],
                capacity=options["capacity"], secret=secret,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{node.node_id} registered ({node.status} until its first heartbeat)")
