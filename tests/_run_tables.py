"""Reading the tables a ``geoagri run`` wrote back as a reader does: the indicator
table and its figures, the report's summary (shared by the example tests)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def indicators(out: Path) -> pd.DataFrame:
    """``tables/indicators.csv`` of a run's folder, codes and labels as text."""
    return pd.read_csv(out / "tables" / "indicators.csv", encoding="utf-8-sig",
                       dtype={"unit_id": str, "unit_name": str, "categories": str,
                              "period": str}, keep_default_na=False,
                       na_values={"value": [""]})


def summary(out: Path) -> pd.DataFrame:
    """``tables/summary.csv`` of a run's folder: the report's headline figures."""
    return pd.read_csv(out / "tables" / "summary.csv", encoding="utf-8-sig")


def value(table: pd.DataFrame, indicator: str, level: str, *, unit: str | None = None,
          categories: str = "", period: str | None = None) -> float:
    """The one figure of an indicator at a level (a unit by id or name), category and
    period (default: the reporting year, the table's last)."""
    rows = table[(table["indicator"] == indicator) & (table["level"] == level)
                 & (table["categories"] == categories)]
    if unit is not None:
        rows = rows[(rows["unit_id"] == unit) | (rows["unit_name"] == unit)]
    if period is None:
        rows = rows[(rows["year"] == table["year"].max())
                    & (rows["period"] == rows["year"].astype(str))]
    else:
        rows = rows[rows["period"] == period]
    assert len(rows) == 1, (indicator, level, unit, categories, period, rows)
    return float(rows["value"].iloc[0])
