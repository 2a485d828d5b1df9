"""Names and paths shared by the recurrent-spec tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
RECURRENT = ["rnn", "gru", "bidirectional_gru", "stacked_gru", "lstm", "lstm_stock", "char_rnn"]


def spec_path(name: str) -> Path:
    return SPECS / f"{name}.yaml"


#: specs whose dataset needs an optional package (the ``data`` extra)
OPTIONAL_DATA = {"lstm_stock": "pmdarima"}


def require_data(name: str) -> None:
    """Skip when the spec's dataset needs a package that is not installed."""
    import pytest

    if name in OPTIONAL_DATA:
        pytest.importorskip(OPTIONAL_DATA[name], reason=f"{name} trains on data from "
                            f"{OPTIONAL_DATA[name]} (pip install 'specc[data]')")
