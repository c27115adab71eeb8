"""The versioned 4pass <-> bridge agent protocol (pure Python, no Django): see README.md."""

from .client import AgentClient, wait_until_healthy
from .errors import ERRORS, AgentError, TransportError
from .messages import PROTOCOL_VERSION, ROUTES, MessageValidationError, match_route, validate_message
from .signing import NonceCache, RequestVerifier, SignatureError, sign_request, sign_response, verify_response

__all__ = [
    "ERRORS",
    "PROTOCOL_VERSION",
    "ROUTES",
    "AgentClient",
    "AgentError",
    "MessageValidationError",
    "NonceCache",
    "RequestVerifier",
    "SignatureError",
    "TransportError",
    "match_route",
    "sign_request",
    "sign_response",
    "validate_message",
    "verify_response",
    "wait_until_healthy",
]
