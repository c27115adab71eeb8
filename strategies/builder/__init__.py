"""The visual strategy builder: a JSON-Schema-validated block state and its Pine v6 generator.

Pure library (no Django): ``generate_pine(state) -> str``, ``validate_state(state)``, ``catalogue()``.
"""

from .catalogue import catalogue
from .examples import default_state
from .generator import generate_pine, pine_string
from .validation import BuilderStateError, load_schema, validate_state

__all__ = [
    "BuilderStateError",
    "catalogue",
    "default_state",
    "generate_pine",
    "load_schema",
    "pine_string",
    "validate_state",
]
