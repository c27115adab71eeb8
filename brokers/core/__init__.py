"""Broker-neutral trading layer: pure Python, no Django imports.

Everything under ``brokers.core`` can be used from scripts, workers and tests without Django settings.
"""
