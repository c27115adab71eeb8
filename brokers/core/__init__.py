"""Broker-neutral trading layer: pure Python, no Django imports.

- ``brokers.core.models``: OrderRequest, OrderResult, OrderUpdate, Fill, Position, Balance, Instrument,
  AccountInfo and the Side/OrderType/TimeInForce/OrderStatus enums (Decimal everywhere).
- ``brokers.core.errors``: BrokerError (retryable, broker_message) and its subclasses.
- ``brokers.core.symbols``: NormalizedSymbol and the TradingView / ccxt / native-code mappers.
- ``brokers.core.precision``: lot/tick rounding and minimum checks.
- ``brokers.core.base``: the BrokerService interface (idempotent placement, updates).
- Adapters: ``paper`` (PaperEngine, PaperBroker), ``ccxt_adapter`` (CcxtBroker), ``alpaca_adapter``
  (AlpacaBroker), ``shioaji_adapter`` (ShioajiGateway, ShioajiBroker). Interactive Brokers through
  ``ib_async`` is planned with the same shape.
- Market rules: ``calendars`` (is_open, next_open, session_for), ``guards`` (MarketHoursGuard),
  ``daytrade`` (DayTradeGuard, check_day_trade).

Django code obtains a configured service with ``brokers.services.get_broker_service(account)``.
"""
