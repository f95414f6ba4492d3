"""The printed form of a report sheet: title block, numbered table, totals as formulas, A4.

:mod:`geoagri.report` says *what* each sheet holds (columns, groups, sums);
this module lays it out as a Vietnamese appendix is printed:

* a title block of merged rows (``PHỤ LỤC I``, the table's title, the
  ``(Kèm theo Báo cáo số …)`` line) and the unit line (``ĐVT: ha``) at the
  right;
* paragraphs (the summary's sentences) in merged, wrapped rows;
* the table: an ``STT`` column, a bordered header row, a total row and one
  row per group above its items, whose sums are ``SUBTOTAL(9, …)`` formulas
  (the total ignores the groups' own subtotals, and an edited figure
  recomputes them), thin borders;
* the page: landscape A4, fitted to the page width, the header row printed
  on every page, centred, page numbers in the footer.

Row heights of wrapped text are estimated from the column widths (neither
Excel nor LibreOffice fits the height of a merged cell itself).

Examples
--------
>>> from openpyxl import Workbook
>>> ws = Workbook().active
>>> title_block(ws, ["PHỤ LỤC I", "DIỆN TÍCH"], width=3)
>>> unit_line(ws, "ĐVT: ha", width=3)
>>> t = table(ws, ["Xã", "Diện tích (ha)"], ["@", "#,##0.0"],
...           [["Xã A", 10.0], ["Xã B", 5.5]], sums=[1], label_col=0, total_label="Tổng cộng")
>>> ws.cell(t.total_row, 3).value, [ws.cell(r, 1).value for r in t.item_rows]
('=SUBTOTAL(9,C6:C7)', [1, 2])
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from geoagri.io import FORMULA_PREFIXES

__all__ = ["Table", "blank", "column_widths", "fit_widths", "font", "page_setup", "paragraphs",
           "put", "roman", "table", "title_block", "unit_line"]

#: The font of every cell (the workbook's default): a styled cell names it too, or
#: LibreOffice would draw it in its own default, a wider serif.
FONT = "Calibri"
#: Points of one printed line of 11 pt text.
LINE_PT = 15.0
#: Widest a text column gets (characters); longer text wraps.
MAX_TEXT_WIDTH = 36.0


def roman(n: int) -> str:
    """``n`` in Roman numerals, the numbering of a table's top groups.

    Examples
    --------
    >>> roman(1), roman(4), roman(14)
    ('I', 'IV', 'XIV')
    """
    out = []
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"),
                           (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"),
                           (4, "IV"), (1, "I")):
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


def font(*, bold: bool = False, italic: bool = False, size: float = 11) -> Any:
    """The sheet's font (:data:`FONT`), bold or italic."""
    from openpyxl.styles import Font

    return Font(name=FONT, size=size, bold=bold, italic=italic)


def _thin() -> Any:
    from openpyxl.styles import Border, Side

    side = Side(style="thin")
    return Border(left=side, right=side, top=side, bottom=side)


def put(ws: Any, row: int, col: int, value: object) -> Any:
    """Set a cell; a string from the data is a text cell, never a formula.

    openpyxl stores a string starting with ``=`` as a formula; a name from
    the data (``=HYPERLINK(…)``) must stay text.  Strings a spreadsheet
    would read as a formula when edited (:data:`geoagri.io.FORMULA_PREFIXES`)
    also get Excel's "quote prefix" style.
    """
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True
    return cell


def _lines(text: str, width: float, *, bold: bool = False, title: bool = False) -> int:
    """Printed lines of ``text`` wrapped in a cell ``width`` characters wide.

    A width counts the digits of the default font that fit; text is told
    on the wide side (DejaVu, LibreOffice's stand-in for Calibri, is wider),
    a bold upper-case title wider still: too many lines leave a little
    space, too few would cut the text.
    """
    chars = max(int(width * (0.55 if title else 0.85 if bold else 0.95)), 1)
    return sum(max(len(textwrap.wrap(part, chars)), 1) for part in str(text).split("\n"))


def _merged_row(ws: Any, row: int, first: int, last: int) -> None:
    if last > first:
        ws.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)


def blank(ws: Any) -> None:
    """An empty row under the last one."""
    ws.cell(ws.max_row + 1, 1)


def title_block(ws: Any, lines: Sequence[str], *, width: int,
                widths: Sequence[float] | None = None) -> None:
    """The title rows of an empty sheet, across ``width`` columns.

    ``lines[0]`` is the kicker (``PHỤ LỤC I``), ``lines[1]`` the table's
    title (both bold, 13 pt), any further line (``(Kèm theo Báo cáo số …)``)
    italic.  With ``widths`` (the columns' widths in characters), a title
    longer than the merged width gets the rows it wraps to.
    """
    from openpyxl.styles import Alignment

    for i, text in enumerate(lines):
        row = i + 1
        cell = put(ws, row, 1, text)
        big = i < 2
        cell.font = font(bold=big, italic=not big, size=13 if big else 11)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        _merged_row(ws, row, 1, width)
        if widths is not None:
            ws.row_dimensions[row].height = (18.0 if big else LINE_PT) * _lines(
                text, sum(widths[:width]), title=big)


def unit_line(ws: Any, text: str, *, width: int) -> None:
    """The unit line (``ĐVT: ha``), italic, right-aligned over the last columns."""
    from openpyxl.styles import Alignment

    row = ws.max_row + 1
    first = max(width - 2, 1)
    cell = put(ws, row, first, text)
    cell.font = font(italic=True)
    cell.alignment = Alignment(horizontal="right")
    _merged_row(ws, row, first, width)


def paragraphs(ws: Any, texts: Sequence[str], *, width: int, widths: Sequence[float],
               italic: bool = False, bold: bool = False) -> list[int]:
    """Each text in its own merged, wrapped row across ``width`` columns; their rows.

    The row height is set from the text's length and the merged width
    (``widths``: the columns' widths in characters).
    """
    from openpyxl.styles import Alignment

    span = sum(widths[:width])
    rows = []
    for text in texts:
        row = ws.max_row + 1
        cell = put(ws, row, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="justify")
        if italic:
            cell.font = font(italic=True)
        _merged_row(ws, row, 1, width)
        ws.row_dimensions[row].height = LINE_PT * _lines(text, span, bold=bold)
        rows.append(row)
    return rows


def fit_widths(headers: Sequence[str], items: Sequence[Sequence[object]], *,
               counts: Sequence[tuple[int, str]] = ()) -> list[float]:
    """Column widths (characters) that fit the headers and the items' values.

    ``headers`` include the number column, which ``items`` do not.  A header
    wraps at its words (a third of its length, at least its longest word);
    text wraps at :data:`MAX_TEXT_WIDTH`; a column of ``counts`` (as
    :func:`table`'s) fits its count's format (``31 công trình``).

    Examples
    --------
    >>> fit_widths(["STT", "Diện tích (ha)"], [[23864.99]])
    [5.0, 10.0]
    """
    widths = [5.0] + [0.0] * (len(headers) - 1)
    for j, h in enumerate(headers):
        longest = max((len(w) for w in str(h).split()), default=0)
        widths[j] = max(widths[j], min(max(longest + 2, len(str(h)) / 3 + 2), MAX_TEXT_WIDTH))
    for row in items:
        for j, v in enumerate(row):
            if v is None:
                continue
            shown = len(f"{v:,.1f}") if isinstance(v, float) else len(str(v))
            cap = MAX_TEXT_WIDTH if isinstance(v, str) else 18.0
            widths[j + 1] = max(widths[j + 1], min(shown + 2, cap))
    for j, fmt in counts:
        words = "".join(fmt.split('"')[1::2])
        widths[j + 1] = max(widths[j + 1], len(words) + 6)
    return [round(float(w), 1) for w in widths]


@dataclass
class Table:
    """Where :func:`table` put a table: rows of the header, total, groups and items."""

    header_row: int
    total_row: int | None = None
    group_rows: list[int] = field(default_factory=list)
    item_rows: list[int] = field(default_factory=list)
    last_row: int = 0


def _col(j: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(j)


def table(
    ws: Any,
    headers: Sequence[str],
    formats: Sequence[str],
    items: Sequence[Sequence[object]],
    *,
    sums: Sequence[int] = (),
    counts: Sequence[tuple[int, str]] = (),
    ratios: Sequence[tuple[int, int, int, float]] = (),
    label_col: int = 0,
    total_label: str | None = None,
    groups: Sequence[Sequence[object]] | None = None,
    widths: Sequence[float] | None = None,
    number_header: str = "STT",
) -> Table:
    """A numbered table with its totals and group subtotals as formulas.

    Parameters
    ----------
    ws : Worksheet
        Written from its first empty row on.
    headers, formats : sequence of str
        One per column (without STT, which comes first); a format is an
        Excel number format code, ``"@"`` for text.
    items : sequence of rows
        The values of each row, one per column.
    sums : sequence of int
        Columns (indexes into ``headers``) summed in the total and group rows
        (``=SUBTOTAL(9, …)``).
    counts : sequence of (int, str)
        Columns whose total and group rows count the items' non-empty cells
        (``=SUBTOTAL(3, …)``), with that count's number format
        (``#,##0 "công trình"``).
    ratios : sequence of (int, int, int, float)
        ``(column, numerator, denominator, factor)``: in the total and group
        rows, ``numerator / denominator * factor`` of those rows' sums (a
        percentage achieved, hectares per billion VND); empty when the
        denominator is 0.
    label_col : int
        Column of the total's and the groups' labels.
    total_label : str, optional
        Label of the total row, written first under the header; none when
        not given.
    groups : sequence of sequences, optional
        Per item, its group labels from the outer level in (``("Tỉnh",
        "Đã khảo sát")``); the items of a group must be consecutive.  Each
        group gets a row above its items (numbered I, II… at the outer level,
        a, b… below), and items are numbered from 1 within their group.  An
        item whose label at a level is ``None`` is listed without a group.
    widths : sequence of float, optional
        Column widths in characters (the number column first), by which text
        wraps; default :func:`fit_widths`.  The caller sets them on the sheet
        (:func:`column_widths`).
    number_header : str, default "STT"
        Header of the number column.

    Returns
    -------
    Table
    """
    from openpyxl.styles import Alignment, PatternFill

    n = len(headers)
    headers = [number_header, *headers]
    if widths is None:
        widths = fit_widths(headers, items, counts=counts)
    border = _thin()
    levels = len(groups[0]) if groups else 0
    keys = list(groups) if groups else [()] * len(items)

    header_row = ws.max_row + 1
    fill = PatternFill("solid", fgColor="DDDDDD")
    for j, h in enumerate(headers):
        cell = put(ws, header_row, j + 1, h)
        cell.font = font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = fill
    ws.row_dimensions[header_row].height = LINE_PT * max(
        _lines(h, widths[j], bold=True) for j, h in enumerate(headers))
    out = Table(header_row=header_row)
    r = header_row + 1
    if total_label is not None:
        out.total_row = r
        r += 1

    def put_item(i: int, number: int) -> None:
        nonlocal r
        put(ws, r, 1, number).alignment = Alignment(horizontal="center", vertical="top")
        tall = 1
        for j, v in enumerate(items[i]):
            cell = put(ws, r, j + 2, v)
            cell.alignment = Alignment(wrap_text=isinstance(v, str), vertical="top")
            if formats[j] != "@" and isinstance(v, int | float):
                cell.number_format = formats[j]
            if isinstance(v, str):
                tall = max(tall, _lines(v, widths[j + 1]))
        if tall > 1:
            ws.row_dimensions[r].height = LINE_PT * tall
        out.item_rows.append(r)
        r += 1

    def emit(indexes: list[int], level: int) -> None:
        nonlocal r
        if level == levels:
            for k, i in enumerate(indexes, 1):
                put_item(i, k)
            return
        number = 0
        for label, members in groupby(indexes, key=lambda i: keys[i][level]):
            members = list(members)
            if label is None:
                emit(members, levels)
                continue
            number += 1
            row = r
            r += 1
            stt = roman(number) if level == 0 else chr(ord("a") + (number - 1) % 26)
            put(ws, row, 1, stt).alignment = Alignment(horizontal="center")
            put(ws, row, label_col + 2, label)
            first = r
            emit(members, level + 1)
            _totals(ws, row, first, r - 1)
            for j in range(1, n + 2):
                ws.cell(row, j).font = font(bold=True, italic=level > 0)
            out.group_rows.append(row)

    def _totals(ws: Any, row: int, first: int, last: int) -> None:
        if last < first:
            return
        for j in sums:
            c = _col(j + 2)
            ws.cell(row, j + 2).value = f"=SUBTOTAL(9,{c}{first}:{c}{last})"
            ws.cell(row, j + 2).number_format = formats[j]
        for j, fmt in counts:
            c = _col(j + 2)
            ws.cell(row, j + 2).value = f"=SUBTOTAL(3,{c}{first}:{c}{last})"
            ws.cell(row, j + 2).number_format = fmt
        for j, num, den, factor in ratios:
            a, b = f"{_col(num + 2)}{row}", f"{_col(den + 2)}{row}"
            ws.cell(row, j + 2).value = f'=IF(N({b})=0,"",{a}/{b}*{factor:g})'
            ws.cell(row, j + 2).number_format = formats[j]

    emit(list(range(len(items))), 0)
    out.last_row = r - 1
    if out.total_row is not None:
        put(ws, out.total_row, label_col + 2, total_label)
        _totals(ws, out.total_row, out.total_row + 1, out.last_row)
        for j in range(1, n + 2):
            ws.cell(out.total_row, j).font = font(bold=True)
    for row in ws.iter_rows(min_row=header_row, max_row=out.last_row, max_col=n + 1):
        for cell in row:
            cell.border = border
    for row in (out.total_row, *out.group_rows):
        if row is not None:
            for j in range(1, n + 2):  # a wrapped label: its figures centred beside it
                ws.cell(row, j).alignment = Alignment(
                    vertical="center", wrap_text=j == label_col + 2,
                    horizontal="center" if j == 1 else None)
            cell = ws.cell(row, label_col + 2)
            if isinstance(cell.value, str):
                tall = _lines(cell.value, widths[label_col + 1], bold=True)
                if tall > 1:
                    ws.row_dimensions[row].height = LINE_PT * tall
    return out


def column_widths(ws: Any, widths: Sequence[float]) -> None:
    """Set the sheet's column widths (characters)."""
    for j, w in enumerate(widths):
        ws.column_dimensions[_col(j + 1)].width = round(w, 1)


def page_setup(ws: Any, *, header_row: int | None, footer: str) -> None:
    """Landscape A4 fitted to the page width, header row repeated, centred, numbered.

    Parameters
    ----------
    ws : Worksheet
    header_row : int, optional
        The row printed at the top of every page.
    footer : str
        Footer text in Excel's codes (``"Trang &P/&N"``).
    """
    from openpyxl.worksheet.page import PageMargins

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    # inches: 2 cm left (binding), 1.5 cm right, 1.5 cm top and bottom
    ws.page_margins = PageMargins(left=0.79, right=0.59, top=0.59, bottom=0.59, header=0.3,
                                  footer=0.3)
    if header_row is not None:
        ws.print_title_rows = f"{header_row}:{header_row}"
    ws.oddFooter.center.text = footer
