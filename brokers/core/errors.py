"""Normalized broker errors.

Every adapter translates its library's/exchange's failures into this hierarchy so that callers
(execution core, UI) decide on retries and messages without knowing which broker answered.
"""

from __future__ import annotations

from decimal import Decimal


class BrokerError(Exception):
    """Base class. ``retryable`` tells whether the same request may succeed if sent again later."""

    retryable: bool = False

    def __init__(self, message: str, *, broker_message: str | None = None, retryable: bool | None = None):
        super().__init__(message)
        self.message = message
        self.broker_message = broker_message
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        if self.broker_message and self.broker_message not in self.message:
            return f"{self.message} (broker said: {self.broker_message})"
        return self.message


class AuthenticationFailed(BrokerError):
    pass


class InsufficientFunds(BrokerError):
    pass


class InvalidOrder(BrokerError):
    pass


class RateLimited(BrokerError):
    retryable = True

    def __init__(self, message: str, *, broker_message: str | None = None, retry_after: float | None = None):
        super().__init__(message, broker_message=broker_message)
        self.retry_after = retry_after


class MarketClosed(BrokerError):
    def __init__(self, message: str, *, broker_message: str | None = None, next_open=None):
        super().__init__(message, broker_message=broker_message)
        self.next_open = next_open


class BrokerUnavailable(BrokerError):
    """Network failure, timeout, maintenance. The outcome of a write may be unknown."""

    retryable = True


class OrderNotFound(BrokerError):
    pass


class DuplicateOrder(BrokerError):
    pass


class DayTradeRuleViolation(BrokerError):
    """Refused by our day-trading guard (e.g. FINRA pattern-day-trader rule) before reaching the broker."""


class SymbolError(ValueError):
    """A ticker could not be mapped unambiguously to an instrument."""


def below_minimum_message(what: str, value: Decimal, minimum: Decimal, symbol: str) -> str:
    return f"{symbol}: {what} {value.normalize():f} is below the minimum {minimum.normalize():f}"
