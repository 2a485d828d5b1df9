"""One reader for every size limit an environment variable raises."""

from __future__ import annotations

import pytest

import specc
from specc.errors import SpecError
from specc.limits import env_limit


def test_env_limit_spellings(monkeypatch):
    monkeypatch.delenv("SPECC_MAX_X", raising=False)
    assert env_limit("SPECC_MAX_X", 7) == 7
    for raw, want in (("12", 12), ("8e9", 8_000_000_000), ("1_000", 1000), (" 5 ", 5)):
        monkeypatch.setenv("SPECC_MAX_X", raw)
        assert env_limit("SPECC_MAX_X", 7) == want


@pytest.mark.parametrize("raw", ["lots", "0", "-3", "1e999"])
def test_env_limit_refuses_what_is_not_a_positive_number(monkeypatch, raw):
    monkeypatch.setenv("SPECC_MAX_X", raw)
    with pytest.raises(SpecError, match="environment variable SPECC_MAX_X must be"):
        env_limit("SPECC_MAX_X", 7)


def test_a_bad_limit_is_a_clear_error_where_it_is_read(monkeypatch):
    # before one reader, SPECC_MAX_NODES=lots was silently ignored while
    # SPECC_MAX_FILE_BYTES=lots was an error
    monkeypatch.setenv("SPECC_MAX_NODES", "lots")
    with pytest.raises(SpecError, match="SPECC_MAX_NODES must be a number"):
        specc.load({"specc": 1, "name": "t", "inputs": {"x": [2]},
                    "layers": [{"dense": {"units": 1}}]})
