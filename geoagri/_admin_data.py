"""The official units' data of the ``vietnamadminunits`` package, read without its parsers.

Importing anything of ``vietnamadminunits`` runs its package ``__init__``,
which imports its address parsers and converter: about 0,4 s of regular
expressions and JSON that geoagri never uses (it reads the package's SQLite
database and its 2025 lineage, nothing else).  This module finds the
package's data folder without importing the package and reads those files
directly, with the same SQL the package's ``query`` runs; when the data
folder is not where this version of the package keeps it, it falls back to
the package's own functions.

Examples
--------
>>> rows = query("SELECT COUNT(*) AS n FROM admin_units")
>>> rows[0]["n"] > 3000
True
>>> sorted(converter_2025())[:2]
['DICT_PROVINCE', 'DICT_PROVINCE_WARD_DIVIDED']
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from contextlib import closing
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["converter_2025", "get_data", "query"]


@lru_cache(maxsize=1)
def _data_dir() -> Path | None:
    """The package's ``data`` folder, found without importing the package (None: elsewhere)."""
    found = importlib.util.find_spec("vietnamadminunits")
    if found is None or not found.submodule_search_locations:
        return None
    folder = Path(next(iter(found.submodule_search_locations))) / "data"
    needed = ("dataset.db", "converter_2025.json")
    return folder if all((folder / f).is_file() for f in needed) else None


def query(sql: str) -> list[dict[str, Any]]:
    """Rows of ``sql`` on the package's database, as dicts (as its ``query`` returns them)."""
    folder = _data_dir()
    if folder is None:  # pragma: no cover - another layout of the package
        from vietnamadminunits.database import query as package_query

        return package_query(sql)
    with closing(sqlite3.connect(f"file:{folder / 'dataset.db'}?mode=ro", uri=True)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql).fetchall()]


def get_data(*, fields: list[str], table: str) -> list[dict[str, Any]]:
    """The distinct ``fields`` of a table (``admin_units`` or ``admin_units_legacy``)."""
    return query(f"SELECT DISTINCT {','.join(fields)} FROM [{table}]")


@lru_cache(maxsize=1)
def converter_2025() -> dict[str, Any]:
    """The package's 2025 lineage tables (``DICT_PROVINCE_WARD_NO_DIVIDED`` …), cached."""
    folder = _data_dir()
    if folder is None:  # pragma: no cover - another layout of the package
        from vietnamadminunits.converter import converter_2025 as package

        return package.converter_data
    with (folder / "converter_2025.json").open(encoding="utf-8") as fh:
        return json.load(fh)
