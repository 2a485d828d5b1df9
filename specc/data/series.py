"""Classic univariate series: air passengers, sunspots, a daily stock price."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from .base import Dataset, Params, RawData, data_error

# Box & Jenkins international airline passengers, monthly totals (thousands), 1949-1960.
AIR_PASSENGERS = (
    112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118,
    115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140,
    145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166,
    171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194,
    196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201,
    204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229,
    242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278,
    284, 277, 317, 313, 318, 374, 413, 405, 355, 306, 271, 306,
    315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336,
    340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337,
    360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405,
    417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432,
)


def _series(values: Any, **meta: Any) -> RawData:
    x = np.asarray(values, dtype=np.float32).reshape(-1, 1)
    return RawData({"x": x}, "series", meta=meta)


class AirPassengers(Dataset):
    """Monthly airline passengers 1949-1960 (144 values, Box & Jenkins).

    From pmdarima when it is installed, else the same 144 values embedded here.
    """

    name = "air_passengers"
    aliases = ("airpassengers",)
    task = "series"

    @classmethod
    def load(cls, params: Any) -> RawData:
        try:
            from pmdarima.datasets import load_airpassengers

            values, source = load_airpassengers(), "pmdarima"
        except ImportError:
            values, source = AIR_PASSENGERS, "embedded"
        return _series(values, source=source)


class Sunspots(Dataset):
    """Yearly mean sunspot numbers 1700-2008 (309 values, statsmodels)."""

    name = "sunspots"
    task = "series"

    @classmethod
    def load(cls, params: Any) -> RawData:
        try:
            from statsmodels.datasets import sunspots
        except ImportError:
            raise data_error("dataset 'sunspots' needs statsmodels", "dataset",
                             hint="pip install 'specc[data]' (or statsmodels)") from None
        return _series(sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(), source="statsmodels")


class StockParams(Params):
    column: str = Field("Close", description="Open, High, Low, Close or Volume.")


class Stock(Dataset):
    """Daily Microsoft share prices 1986-2017 (7983 trading days, pmdarima's ``load_msft``)."""

    name = "stock"
    aliases = ("msft",)
    Params = StockParams
    task = "series"

    @classmethod
    def load(cls, params: Any) -> RawData:
        try:
            from pmdarima.datasets import load_msft
        except ImportError:
            raise data_error("dataset 'stock' needs pmdarima", "dataset",
                             hint="pip install 'specc[data]' (or pmdarima)") from None
        frame = load_msft()
        if params.column not in frame.columns:
            cols = [c for c in frame.columns if c not in ("Date", "OpenInt")]
            raise data_error(f"no column '{params.column}'", "column", received=params.column,
                             hint="columns: " + ", ".join(cols))
        return _series(frame[params.column].to_numpy(), source="pmdarima")
