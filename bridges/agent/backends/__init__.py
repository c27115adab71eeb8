"""Terminal backends available to the agent, by the name used in start requests."""

from __future__ import annotations

from .base import TerminalBackend
from .dll import GenericDllTerminal
from .mt5 import MetaTrader5Terminal
from .sim import SimulatedTerminal

BACKENDS: dict[str, type[TerminalBackend]] = {
    SimulatedTerminal.name: SimulatedTerminal,
    MetaTrader5Terminal.name: MetaTrader5Terminal,
    GenericDllTerminal.name: GenericDllTerminal,

}

__all__ = ["BACKENDS", "GenericDllTerminal", "MetaTrader5Terminal", "SimulatedTerminal", "TerminalBackend"]
