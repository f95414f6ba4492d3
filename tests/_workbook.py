"""Reading report.xlsx back as a reader does: its table under the title block, and its
totals' formulas evaluated by the spreadsheet's own definitions (shared by the report's
tests)."""

from __future__ import annotations

import re

from openpyxl.utils import range_boundaries


def header_row(ws):
    """The table's header: the row printed on every page."""
    return int(ws.print_title_rows.split(":")[0].strip("$"))


def header(ws):
    return [c.value for c in ws[header_row(ws)]]


def rows_below(ws):
    return list(ws.iter_rows(min_row=header_row(ws) + 1))


def item_rows(ws):
    """The table's own rows (numbered in STT), not its total and group rows."""
    return [r for r in rows_below(ws) if isinstance(r[0].value, int)]


def column(ws, name):
    j = header(ws).index(name)
    return [r[j].value for r in item_rows(ws)]


def texts(ws):
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def labelled(ws, name):
    """Rows below the header by their text in column ``name`` (total and group labels)."""
    j = header(ws).index(name)
    return {r[j].value: r for r in rows_below(ws) if isinstance(r[0].value, str | None)
            and isinstance(r[j].value, str)}


def evaluate(ws, cell):
    """A cell's value with its formula evaluated as a spreadsheet does.

    ``SUBTOTAL(9, range)`` sums the numbers of the range and ``SUBTOTAL(3, range)`` counts
    its non-empty cells, both leaving out the range's own SUBTOTAL cells (the group rows);
    ``IF(N(b)=0, "", a/b*k)`` is a ratio.  Written from the spreadsheet's definitions, not
    from geoagri's code.
    """
    v = cell.value
    if not (isinstance(v, str) and cell.data_type == "f"):
        return v
    m = re.fullmatch(r"=SUBTOTAL\((9|3),([A-Z]+\d+:[A-Z]+\d+)\)", v)
    if m:
        c1, r1, c2, r2 = range_boundaries(m[2])
        inner = [ws.cell(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]
        inner = [c for c in inner if not (c.data_type == "f" and "SUBTOTAL" in str(c.value))]
        if m[1] == "9":
            return sum(c.value for c in inner if isinstance(c.value, int | float))
        return sum(c.value not in (None, "") for c in inner)
    m = re.fullmatch(r'=IF\(N\(([A-Z]+\d+)\)=0,"",([A-Z]+\d+)/([A-Z]+\d+)\*([\d.]+)\)', v)
    assert m, f"unexpected formula {v!r} in {cell.coordinate}"
    den = evaluate(ws, ws[m[3]])
    return "" if not den else evaluate(ws, ws[m[2]]) / den * float(m[4])
