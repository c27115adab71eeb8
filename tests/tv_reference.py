"""Where TradingView's reference exports live: `shared/tv-reference` beside the checkout (as in CI),
else the workplace copy, or TV_REFERENCE_DIR when set."""

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
_CANDIDATES = [
    Path(os.environ["TV_REFERENCE_DIR"]) if os.environ.get("TV_REFERENCE_DIR") else None,
    _ROOT.parent / "shared" / "tv-reference",
    Path("/work/shared/tv-reference"),
]
TV_REFERENCE = next((p for p in _CANDIDATES if p is not None and (p / "README.md").exists()), _CANDIDATES[-1])
STRATEGIES = TV_REFERENCE / "strategies"
TA = TV_REFERENCE / "ta"
