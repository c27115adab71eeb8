"""Local fake exchange/broker HTTP servers (127.0.0.1 only) that the REAL client libraries talk to.

Each fake verifies request signatures exactly as the venue defines them, keeps an in-memory order book
and account, and can inject faults (error responses, a response delayed past the client's timeout
after the order was accepted).
"""
