"""Run the bridge agent: python -m bridges.agent --port N --node-id X --secret-file F --backend sim"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import ssl
import sys
import threading
from pathlib import Path

from bridges.protocol.signing import NODE_ID_PATTERN

from .backends import BACKENDS
from .backends.dll import GenericDllTerminal
from .backends.mt5 import MetaTrader5Terminal
from .backends.sim import configure_store
from .instances import InstanceManager
from .server import AGENT_VERSION, Agent, AgentHTTPServer

MIN_SECRET_LENGTH = 32


def read_secret(path: Path) -> bytes:
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise SystemExit(f"secret in {path} must be at least {MIN_SECRET_LENGTH} characters")
    return secret.encode()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bridges.agent", description="4pass bridge agent")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 behind TLS in production)")
    parser.add_argument("--port", type=int, default=8740, help="0 picks a free port (printed on stdout)")
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--secret-file", required=True, type=Path)
    parser.add_argument("--backend", default="sim", help=f"comma-separated, from: {', '.join(BACKENDS)}")
    parser.add_argument("--capacity", type=int, default=8, help="terminal slots on this node")
    parser.add_argument("--sim-state-dir", help="shared simulated broker server directory")
    parser.add_argument("--mt5-template", help="directory of a MetaTrader 5 installation to copy per instance")
    parser.add_argument("--mt5-instances", help="directory holding one portable terminal copy per instance")
    parser.add_argument("--dll-mapping", help="JSON mapping of a broker DLL for the dll backend (see backends/dll.py)")
    parser.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--log-level", default="INFO")
    return parser


def build_server(args: argparse.Namespace) -> AgentHTTPServer:
    if not NODE_ID_PATTERN.match(args.node_id):
        raise SystemExit(f"--node-id must match {NODE_ID_PATTERN.pattern}")
    backends = [name.strip() for name in args.backend.split(",") if name.strip()]
    unknown = [name for name in backends if name not in BACKENDS]
    if unknown:
        raise SystemExit(f"unknown backend(s): {', '.join(unknown)}")
    configure_store(args.sim_state_dir)
    MetaTrader5Terminal.configure(template_dir=args.mt5_template, instances_dir=args.mt5_instances)
    GenericDllTerminal.configure(args.dll_mapping)
    manager = InstanceManager(capacity=args.capacity, enabled_backends=backends)
    agent = Agent(node_id=args.node_id, secret=read_secret(args.secret_file), manager=manager)
    server = AgentHTTPServer((args.host, args.port), agent)
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(args.tls_cert, args.tls_key)
        # Handshake in the connection's own thread (first read), not in the accept loop.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = build_server(args)
    host, port = server.server_address[:2]
    print(json.dumps({"event": "listening", "host": host, "port": port, "node_id": args.node_id,
                      "version": AGENT_VERSION}), flush=True)

    def stop(signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.agent.manager.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
