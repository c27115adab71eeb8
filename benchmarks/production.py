"""Settings the benchmarks run the app with: production's (DEBUG off), not development's.

With DEBUG on, Django wraps every cursor to record each query's SQL and time, and templates keep debug data;
a latency figure taken that way measures the development server. The keys below are the development ones (the
benchmark databases hold data encrypted with them); they are fixed here only so DEBUG can be off.
"""

from __future__ import annotations

PRODUCTION_SETTINGS = {
    "DEBUG": "false",
    "SECRET_KEY": "benchmark-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "CREDENTIALS_KEYS": "ZGV2LW9ubHktY3JlZGVudGlhbHMta2V5LTAxMjM0NTY=",
    "VAPID_PRIVATE_KEY": "djaCXZr74PzBBpvAXPq-euxNJD_pXrbNPnEhqUGbEQ0",
    "VAPID_PUBLIC_KEY": "BG4ZIxkADPwNJ0cTmLgw_gGR502wZgv6It7vALWU7-CH91gd4UvxO8P_4P8ZZ8Tl_UpkqoseugrytjeqwxwT5WQ",
}


def vacuum_analyze(url: str) -> None:
    """What autovacuum does on a production server, done once before measuring. The PostgreSQL of this machine runs
    with autovacuum off, so a benchmark database kept between runs piles up dead rows (every processed alert and
    finished job leaves one) and has no planner statistics; the figures then drift from run to run."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
