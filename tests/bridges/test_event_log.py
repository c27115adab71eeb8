"""The agent's per-instance event log: sequence numbers, bounded buffer with gap reporting, long poll."""

from __future__ import annotations

import threading
import time

from bridges.agent.instances import EventLog


def test_events_get_consecutive_sequence_numbers_from_one():
    log = EventLog()
    for _ in range(3):
        log.append({"type": "terminal_status", "status": "running"})
    assert [event["seq"] for event in log.read(0, 0)["events"]] == [1, 2, 3]


def test_reading_after_a_cursor_returns_only_newer_events():
    log = EventLog()
    for _ in range(5):
        log.append({"type": "terminal_status", "status": "running"})
    answer = log.read(3, 0)
    assert [event["seq"] for event in answer["events"]] == [4, 5] and answer["last_seq"] == 5


def test_evicted_events_are_reported_as_a_gap():
    log = EventLog(max_events=3)
    for _ in range(6):
        log.append({"type": "terminal_status", "status": "running"})
    answer = log.read(1, 0)
    assert answer["gap"] is True and answer["first_available_seq"] == 4
    assert [event["seq"] for event in answer["events"]] == [4, 5, 6]
    assert log.read(3, 0)["gap"] is False


def test_long_poll_wakes_up_on_a_new_event():
    log = EventLog()
    threading.Timer(0.2, lambda: log.append({"type": "terminal_status", "status": "running"})).start()
    started = time.monotonic()
    answer = log.read(0, 5)
    assert answer["events"] and time.monotonic() - started < 2


def test_each_log_has_its_own_stream_id():
    assert EventLog().stream_id != EventLog().stream_id
