"""Pine Script v5/v6 compiler front end: ``compile_source(source) -> CompileResult``.

Pure library (no Django).  See :mod:`strategies.pine.ir` for the IR contract consumed by the runtime.
"""

from .compiler import (
    CompileResult,
    DeclarationSpec,
    InputSpec,
    PlotSpec,
    compile_source,
    validate_input_overrides,
)
from .diagnostics import Diagnostic

__all__ = [
    "CompileResult",
    "DeclarationSpec",
    "Diagnostic",
    "InputSpec",
    "PlotSpec",
    "compile_source",
    "validate_input_overrides",
]
