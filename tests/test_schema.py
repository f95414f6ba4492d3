"""Layer specifications (geoagri.schema) and their documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geoagri.errors import SchemaError
from geoagri.schema import KINDS, WORK_STATUSES, canonical_season, spec

DOCS = Path(__file__).resolve().parents[1] / "docs" / "layers.md"


def test_every_kind_and_column_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"## `{kind}`" in text, kind
        section = text.split(f"## `{kind}`")[1].split("\n## ")[0]
        for col in spec(kind).columns:
            assert f"`{col}`" in section, (kind, col)
        assert "Example:" in section, kind


def test_units_are_in_numeric_column_names():
    unitless = {"population", "members", "phases", "year", "start_year", "founded_year",
                "target"}
    pattern = re.compile(r"_(ha|vnd|pct|kv|kw|kva|t_ha|m3_h|vnd_ha)$")
    for kind in KINDS:
        for col in spec(kind).columns.values():
            if col.dtype in ("float", "int") and col.name not in unitless:
                assert pattern.search(col.name), (kind, col.name)


def test_work_status_pipeline_and_aliases():
    status = spec("works").columns["status"]
    assert status.vocabulary == WORK_STATUSES
    assert status.canonical_value("Đã khảo sát") == "surveyed"
    assert status.canonical_value("HOAN THANH") == "completed"
    assert status.canonical_value("under construction") == "under_construction"
    assert status.canonical_value("abandoned") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("DX 2023-2024", "DX 2023-2024"), ("Vụ Đông Xuân 2023 - 2024", "DX 2023-2024"),
    ("Hè Thu 2024", "HT 2024"), ("thu đông 2024", "TD 2024"), ("DX 2023-2025", None),
    ("HT", None), ("Xuân Hè 2024", None),
])
def test_canonical_season(text, expected):
    assert canonical_season(text) == expected


def test_unknown_kind():
    with pytest.raises(SchemaError, match="unknown layer kind 'zone'; known kinds are: communes"):
        spec("zone")
