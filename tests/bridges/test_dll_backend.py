"""The generic DLL backend against a fake broker library compiled from C for the test (ctypes boundary)."""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bridges.agent.backends.dll import DllMapping, GenericDllTerminal
from bridges.protocol import AgentError, validate_message

FAKE_BROKER_C = r"""
#include <string.h>
#include <stdio.h>
#define MAX 64
static int connected = 0, count = 0;
static char client_ids[MAX][65], broker_ids[MAX][16], symbols[MAX][16];
static int sides[MAX], types[MAX], states[MAX];
static double volumes[MAX], prices[MAX];
static const double BID = 1.1000, ASK = 1.1002;

int BrkLogin(const char* login, const char* password, const char* server) {
    if (!password || !password[0]) return 4;
    connected = 1; return 0;
}
int BrkLogout(void) { connected = 0; return 0; }
int BrkConnected(void) { return connected; }
void FakeDisconnect(void) { connected = 0; }
static int find(const char* client_id) {
    for (int i = 0; i < count; i++) if (strcmp(client_ids[i], client_id) == 0) return i;
    return -1;
}
int BrkSend(const char* client_id, const char* symbol, int side, int type, double volume, double price,
            double stop, char* out, int out_len) {
    if (!connected) return 900;
    if (volume <= 0 || volume > 100) return 102;
    if (volume > 10) return 101;
    if (count >= MAX) return 999;
    int i = count++;
    snprintf(client_ids[i], 65, "%s", client_id); snprintf(symbols[i], 16, "%s", symbol);
    snprintf(broker_ids[i], 16, "B%d", 1000 + i);
    sides[i] = side; types[i] = type; volumes[i] = volume;
    if (type == 0) { states[i] = 1; prices[i] = side == 1 ? ASK : BID; }
    else { states[i] = 0; prices[i] = price; }
    snprintf(out, out_len, "%s", broker_ids[i]);
    return 0;
}
int BrkCancel(const char* broker_id) {
    if (!connected) return 900;
    for (int i = 0; i < count; i++) if (strcmp(broker_ids[i], broker_id) == 0) {
        if (states[i] != 0) return 103;
        states[i] = 2; return 0;
    }
    return 404;
}
int BrkQuery(const char* client_id, char* out, int out_len, int* state, double* filled, double* average) {
    if (!connected) return 900;
    int i = find(client_id);
    if (i < 0) return 404;
    snprintf(out, out_len, "%s", broker_ids[i]);
    *state = states[i]; *filled = states[i] == 1 ? volumes[i] : 0; *average = states[i] == 1 ? prices[i] : 0;
    return 0;
}
int BrkAccount(double* balance, double* equity, double* margin, double* free_margin, int* leverage,
               char* currency, int len) {
    if (!connected) return 900;
    *balance = 10000; *equity = 10000; *margin = 0; *free_margin = 10000; *leverage = 50;
    snprintf(currency, len, "USD"); return 0;
}
int BrkPositionCount(void) { return 1; }
int BrkPosition(int index, char* symbol, int len, double* volume, double* average, double* profit) {
    double net = 0, cost = 0;
    for (int i = 0; i < count; i++) if (states[i] == 1) {
        double signed_volume = sides[i] == 1 ? volumes[i] : -volumes[i];
        net += signed_volume; cost += signed_volume * prices[i];
    }
    snprintf(symbol, len, "EURUSD"); *volume = net; *average = net ? cost / net : 0; *profit = 0;
    return 0;
}
int BrkSymbol(const char* symbol, double* contract, double* min_volume, double* max_volume, double* step,
              double* tick, int* digits, double* bid, double* ask) {
    if (strcmp(symbol, "EURUSD") != 0) return 405;
    *contract = 100000; *min_volume = 0.01; *max_volume = 100; *step = 0.01; *tick = 0.00001; *digits = 5;
    *bid = BID; *ask = ASK; return 0;
}
"""

MAPPING = {
    "functions": {
        "login": "BrkLogin", "logout": "BrkLogout", "is_connected": "BrkConnected", "send_order": "BrkSend",
        "cancel_order": "BrkCancel", "query_order": "BrkQuery", "get_account": "BrkAccount",
        "get_position_count": "BrkPositionCount", "get_position": "BrkPosition", "get_symbol": "BrkSymbol",
    },
    "sides": {"buy": 1, "sell": 2},
    "order_types": {"market": 0, "limit": 1},
    "states": {"0": "open", "1": "filled", "2": "cancelled"},
    "return_codes": {
        "0": ["ok", ""], "4": ["error", "broker_authentication_failed"], "101": ["reject", "insufficient_margin"],
        "102": ["reject", "invalid_volume"], "103": ["error", "order_not_cancellable"],
        "404": ["error", "order_not_found"], "405": ["error", "invalid_request"],
        "900": ["error", "terminal_disconnected"],
    },
    "symbols": ["EURUSD"],
}


@pytest.fixture(scope="module")
def fake_library(tmp_path_factory) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("needs a C compiler to build the fake broker library")
    directory = tmp_path_factory.mktemp("fake-broker")
    source = directory / "fake_broker.c"
    source.write_text(FAKE_BROKER_C)
    library = directory / "libfakebroker.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], check=True)
    return library


@pytest.fixture
def terminal(fake_library, tmp_path):
    mapping_file = tmp_path / "mapping.json"
    # A fresh copy per test: the fake library keeps its orders in static memory.
    library = tmp_path / "libfakebroker.so"
    shutil.copy(fake_library, library)
    mapping_file.write_text(json.dumps({"library": str(library), **MAPPING}))
    GenericDllTerminal.configure(str(mapping_file))
    events: list[dict] = []
    backend = GenericDllTerminal(
        instance_id="dll-1", account_id="acct", credentials={"login": "7", "password": "pw"}, options={},
        emit=events.append,
    )
    backend.connect()
    backend.events = events
    yield backend
    GenericDllTerminal.configure(None)


def market(client_order_id: str, quantity: str = "0.10", side: str = "buy") -> dict:
    return {"client_order_id": client_order_id, "symbol": "EURUSD", "side": side, "order_type": "market",
            "quantity": quantity}


def test_market_order_fills_through_the_dll(terminal):
    order, created = terminal.place_order(market("d-1"))
    assert created and order["status"] == "filled"
    assert (order["average_fill_price"], order["broker_order_id"]) == ("1.1002", "B1000")
    validate_message("order_response", {"order": order})
    assert [event["type"] for event in terminal.events] == ["order_update", "fill"]


def test_same_client_order_id_is_not_sent_twice(terminal):
    first, _ = terminal.place_order(market("d-2"))
    again, created = terminal.place_order(market("d-2"))
    assert created is False and again["broker_order_id"] == first["broker_order_id"]
    assert terminal.positions()[0]["quantity"] == "0.1"


def test_broker_rejection_becomes_a_rejected_order_with_the_native_code(terminal):
    order, _ = terminal.place_order(market("d-3", quantity="20"))
    assert (order["status"], order["reject_reason"], order["broker_code"]) == ("rejected", "insufficient_margin", "101")


def test_limit_order_rests_and_cancels(terminal):
    order, _ = terminal.place_order({**market("d-4"), "order_type": "limit", "limit_price": "1.09"})
    assert order["status"] == "open"
    assert terminal.cancel_order("d-4")["status"] == "cancelled"
    with pytest.raises(AgentError) as raised:
        terminal.cancel_order("d-4")
    assert raised.value.code == "order_not_cancellable"


def test_disconnection_is_a_retryable_error(terminal):
    ctypes.CDLL(terminal.mapping.library).FakeDisconnect()
    with pytest.raises(AgentError) as raised:
        terminal.place_order(market("d-5"))
    assert (raised.value.code, raised.value.retryable, raised.value.broker_code) == ("terminal_disconnected", True, "900")


def test_refused_login_is_broker_authentication_failed(terminal):
    backend = GenericDllTerminal(instance_id="dll-2", account_id="a", credentials={"login": "7", "password": ""},
                                 options={}, emit=lambda event: None)
    with pytest.raises(AgentError) as raised:
        backend.connect()
    assert raised.value.code == "broker_authentication_failed"


def test_account_and_symbol_info_match_the_schemas(terminal):
    validate_message("account_response", {"account": terminal.account()})
    symbol = terminal.symbol("EURUSD")
    validate_message("symbol_response", {"symbol": symbol})
    assert (symbol["contract_size"], symbol["volume_step"]) == ("100000", "0.01")


def test_mapping_with_an_unknown_reject_reason_is_refused(tmp_path):
    broken = {**MAPPING, "library": "x", "return_codes": {"1": ["reject", "bad_luck"]}}
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(ValueError, match="bad_luck"):
        DllMapping.from_json(path)
