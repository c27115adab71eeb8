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
