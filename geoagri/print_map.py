"""The A4 map of a plan for the meeting packet: PNG and PDF at 300 dpi, drawn with matplotlib.

:func:`print_map` draws a plan's results (:class:`geoagri.results.PlanResults`)
as the web map (:func:`geoagri.maps.plan_map`) opens on them, on one A4
landscape page: the communes coloured by linkage coverage (the same classes
and colours: :func:`geoagri.maps.coverage_classes`), the gaps hatched by what
is missing (pump service, three-phase power, both: the same gaps,
:func:`geoagri.maps.drawn_gaps`, in the colours of :mod:`geoagri._styles`),
pump stations by status, three-phase and other power lines, commune names,
a legend, a scale bar in km, a north arrow, title, year, date and source.
:func:`write_print_map` writes it as PNG (3508 × 2480 px, 300 dpi) and PDF
(297 × 210 mm, text as text).

The map computes no figure: every value it draws is the results'.  It is
drawn in the plan's metric CRS (``plan.metric_crs``), so the scale bar holds
in every direction; the north arrow points to true north at the map's
centre (a projected grid's north differs from it by the meridian
convergence).  It needs no network (no tiles) and no display: the figure is
a :class:`matplotlib.figure.Figure` on the Agg canvas, and matplotlib's
global state (backend, ``rcParams``) is left as it was.  Text is DejaVu Sans
(bundled with matplotlib; it has every Vietnamese letter), embedded in the
PDF as TrueType, and names are drawn verbatim (no mathtext: ``$x$`` stays
``$x$``).

Examples
--------
>>> import tempfile, pathlib
>>> from geoagri.datasets import demo
>>> from geoagri.results import compute
>>> res = compute(demo(), curve_steps=0)
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> [p.name for p in write_print_map(res, out / "map.png", out / "map.pdf", date="05/12/2026")]
['map.png', 'map.pdf']
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from pyproj import Transformer

from geoagri import _labels, _styles
from geoagri._labels import format_number
from geoagri._map_content import (
    _HATCHES,
    _T,
    DEFAULT_MIN_GAP_HA,
    LANGUAGES,
    _layers,
    _legend_items,
    coverage_classes,
    drawn_gaps,
)
from geoagri.errors import SchemaError

if TYPE_CHECKING:  # pragma: no cover
    from geoagri.results import PlanResults

__all__ = ["A4_MM", "DPI", "PX", "print_map", "save_print_map", "write_print_map"]

#: Resolution of the PNG, dots per inch.
DPI = 300
#: Size of the PNG, px (A4 landscape at 300 dpi).
PX = (3508, 2480)
#: The page, mm (A4 landscape).
A4_MM = (297.0, 210.0)

_MM = 1 / 25.4  # inch per mm

#: Where things are on the page, mm from the lower left: (left, bottom, width, height).
_MAP_BOX = (10.0, 16.0, 207.0, 166.0)
_LEGEND_BOX = (222.0, 16.0, 65.0, 166.0)

#: Words of the print map that the web map does not have.
_W = {
    "vi": {"north": "B", "synthetic": "dữ liệu tổng hợp", "crs": "Hệ tọa độ: {crs}",
           "pump_legend": "Trạm bơm (theo tình trạng)",
           "names_hidden": "{n} tên xã không ghi: không đủ chỗ ở tỷ lệ này."},
    "en": {"north": "N", "synthetic": "synthetic data", "crs": "Coordinate system: {crs}",
           "pump_legend": "Pump stations (by status)",
           "names_hidden": "{n} commune names not written: no room at this scale."},
}

#: matplotlib settings of the drawing, applied only while it is drawn and saved.
#: ``ps.fonttype`` too: matplotlib's PDF writer splits a font into subsets of as many
#: glyphs as PostScript's font type holds (256 for its default, Type 3), so that a
#: page with Vietnamese letters (beyond U+00FF) embedded DejaVu Sans twice.  zlib at
#: level 3: a third of level 6's time, for a tenth more bytes.
_RC = {"font.family": "DejaVu Sans", "pdf.fonttype": 42, "ps.fonttype": 42,
       "text.parse_math": False, "hatch.linewidth": 0.9, "axes.unicode_minus": False,
       "pdf.compression": 3}


@contextlib.contextmanager
def _settings() -> Iterator[None]:
    with matplotlib.rc_context(_RC):
        yield


def print_map(
    results: PlanResults,
    *,
    language: str = "vi",
    title: str | None = None,
    source: str | None = None,
    date: str | None = None,
    min_gap_ha: float = DEFAULT_MIN_GAP_HA,
) -> Figure:
    """The A4 landscape map of a plan's results, as a matplotlib figure.

    Parameters
    ----------
    results : PlanResults
        What :func:`geoagri.results.compute` found; the map draws its
        ``map_results()`` (linkage table, gaps) and its plan's communes,
        pumps and power lines.
    language : {"vi", "en"}, default "vi"
        Language of the words; numbers as ``12,5%`` (vi) or ``12.5%`` (en).
    title : str, optional
        Title (default: the web map's, with the plan's name).
    source : str, optional
        Data source of the source line (default: the plan's name).
    date : str, optional
        Date the map was made (default: today, dd/mm/yyyy).
    min_gap_ha : float, default 0.1
        Gaps smaller than this, ha, are left off and counted (as the web map does).

    Returns
    -------
    matplotlib.figure.Figure
        A4 landscape (3508/300 × 2480/300 in at 300 dpi) on the Agg canvas;
        the map's axes have ``gid="map"`` (data coordinates: the plan's
        metric CRS, so ``ax.transData`` maps metres to pixels), the scale
        bar ``gid="scale-bar"`` (its width in CRS units) with its label
        ``gid="scale-bar-label"``, the north arrow ``gid="north-arrow"``.
        Save it with :func:`write_print_map` (which sets the PDF's fonts).

    Raises
    ------
    SchemaError
        If ``language`` is unknown.
    PlanError
        If the plan has no ``communes`` layer (or several).

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> from geoagri.results import compute
    >>> fig = print_map(compute(demo(), curve_steps=0), language="en")
    >>> [round(v) for v in fig.get_size_inches() * DPI]
    [3508, 2480]
    """
    if language not in LANGUAGES:
        raise SchemaError(f"language={language!r}; use one of {', '.join(LANGUAGES)}")
    with _settings():
        return _draw(results, language=language, title=title, source=source, date=date,
                     min_gap_ha=min_gap_ha)


def write_print_map(
    results: PlanResults,
    path_png: str | os.PathLike[str] | None = None,
    path_pdf: str | os.PathLike[str] | None = None,
    *,
    language: str = "vi",
    title: str | None = None,
    source: str | None = None,
    date: str | None = None,
    min_gap_ha: float = DEFAULT_MIN_GAP_HA,
) -> list[Path]:
    """Write the A4 map (:func:`print_map`) as PNG and/or PDF, each file atomically.

    Parameters
    ----------
    results : PlanResults
        What :func:`geoagri.results.compute` found.
    path_png : path, optional
        The PNG: 3508 × 2480 px, 300 dpi (in its ``pHYs``), RGB.
    path_pdf : path, optional
        The PDF: one page of 297 × 210 mm; text as text (TrueType DejaVu
        Sans embedded), so it can be searched and copied.
    language, title, source, date, min_gap_ha :
        As in :func:`print_map`.

    Returns
    -------
    list of Path
        The files written (PNG first).

    Raises
    ------
    OutputError
        If a file cannot be written (what, where, what to do); an existing
        file is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from geoagri.datasets import demo
    >>> from geoagri.results import compute
    >>> pdf = pathlib.Path(tempfile.mkdtemp()) / "ban_do.pdf"
    >>> write_print_map(compute(demo(), curve_steps=0), path_pdf=pdf)[0].stat().st_size > 10_000
    True
    """
    fig = print_map(results, language=language, title=title, source=source, date=date,
                    min_gap_ha=min_gap_ha)
    return save_print_map(fig, path_png, path_pdf)


def save_print_map(
    fig: Figure,
    path_png: str | os.PathLike[str] | None = None,
    path_pdf: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Save a map drawn by :func:`print_map` as PNG and/or PDF (see :func:`write_print_map`).

    One drawing saved twice: ``geoagri run`` writes ``map.png`` and
    ``map.pdf`` as two outputs of one figure.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from geoagri.datasets import demo
    >>> from geoagri.results import compute
    >>> fig = print_map(compute(demo(), curve_steps=0))
    >>> png = pathlib.Path(tempfile.mkdtemp()) / "map.png"
    >>> save_print_map(fig, png)[0].read_bytes()[:4]
    b'\\x89PNG'
    """
    from geoagri import __version__
    from geoagri.outputs import write_atomically

    heading = fig.get_label()
    written = []
    with _settings():
        if path_png is not None:
            written.append(write_atomically(path_png, lambda tmp: _save_png(
                fig, tmp, {"Title": heading, "Software": f"geoagri {__version__}"})))
        if path_pdf is not None:
            written.append(write_atomically(path_pdf, lambda tmp: fig.savefig(
                tmp, format="pdf", dpi=DPI,
                metadata={"Title": heading, "Creator": f"geoagri {__version__}"})))
    return written


def _save_png(fig: Figure, path: Path, metadata: dict[str, str]) -> None:
    """The figure drawn by Agg at 300 dpi and written as an RGB PNG with its metadata.

    What ``savefig`` does for a PNG, but without the alpha channel (the page is
    opaque: a quarter less data to compress) and at zlib level 3: written a third
    faster than ``savefig``'s RGBA at level 6, within 5% of its size (2.20 MB, not
    2.32, for a province; 0.90, not 0.87, for the demo).
    """
    from PIL import Image, PngImagePlugin

    fig.canvas.draw()
    rgba = fig.canvas.buffer_rgba()
    height, width = rgba.shape[:2]
    image = Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1)
    info = PngImagePlugin.PngInfo()
    for key, value in metadata.items():
        info.add_text(key, value)
    image.convert("RGB").save(path, format="png", dpi=(DPI, DPI), pnginfo=info,
                              compress_level=3)


# ----------------------------------------------------------------------------- drawing


def _draw(results: PlanResults, *, language: str, title: str | None, source: str | None,
          date: str | None, min_gap_ha: float) -> Figure:
    from geoagri import __version__

    t, w = _T[language], _W[language]
    plan = results.plan
    res = results.map_results()
    communes = plan.only("communes")
    mcrs = plan.metric_crs
    choropleth = coverage_classes(plan, communes, res.linkage, language=language)
    geoms = communes.geometry.to_crs(mcrs)

    fig = Figure(figsize=(PX[0] / DPI, PX[1] / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes(_fraction(_MAP_BOX), gid="map")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.6)
    _set_extent(ax, geoms.total_bounds)

    # drawn to a quarter of a pixel at 300 dpi (display only: the outlines as the page
    # shows them, without the vertices it cannot show)
    tolerance = _quarter_pixel(ax)
    # communes by coverage class (opaque: the class's colour as the legend shows it)
    ax.add_collection(PathCollection(
        _polygon_paths(_drawn(geoms.to_numpy(), tolerance)),
        facecolors=choropleth.fill(),
        edgecolors=_styles.BOUNDARY, linewidths=0.6, zorder=1, gid="communes"))
    handles: list[tuple[Any, str, bool]] = [(None, t["coverage_legend"], True)]
    handles += [(Patch(facecolor=c, edgecolor=_styles.BOUNDARY, linewidth=0.6), label, False)
                for c, label in zip(choropleth.colors, choropleth.labels, strict=True)]

    # gaps hatched by what is missing, so that the commune's class shows through
    note = None
    if res.gaps is not None and len(res.gaps):
        gaps, missing, note = drawn_gaps(res.gaps, min_gap_ha=min_gap_ha, language=language)
        # rings oriented (holes against their shell), so that gaps drawn as one path
        # fill by the non-zero rule as they would one by one
        gap_geoms = shapely.orient_polygons(_drawn(gaps.geometry.to_crs(mcrs).to_numpy(),
                                                   tolerance))
        present = [v for v in _HATCHES if v in set(missing)]
        if present:
            handles.append((None, t["gaps"], True))
        for v in present:
            color = _styles.GAP_MISSING[v]
            # one path of every gap of the class: Agg hatches a collection path by path,
            # seconds for a province's thousands of gaps, and once for one compound path
            # (where two gaps overlap it is hatched once; the hatch's phase on the page
            # may differ by a few pixels)
            path = _polygon_paths(gap_geoms[missing == v], compound=True)[0]
            paths = [path] if path is not None else []
            ax.add_collection(PathCollection(
                paths, facecolors="none", edgecolors=color, linewidths=0.5,
                hatch=_hatch(v), hatchcolor=color, zorder=2, gid=f"gaps-{v}"))
            handles.append((Patch(facecolor="none", edgecolor=color, hatch=_hatch(v),
                                  hatchcolor=color, linewidth=0.8),
                            _labels.value_label(v, language, field="missing"), False))

    # power lines: three-phase and other
    power_layers = _layers(plan, "power")
    if power_layers:
        handles.append((None, t["g_power"], True))
    for _, power in power_layers:
        three = (power["phases"] == 3).to_numpy() if "phases" in power else np.zeros(
            len(power), bool)
        lines = power.geometry.to_crs(mcrs).to_numpy()
        for mask, label, color, style, width in (
                (three, t["power3"], _styles.THREE_PHASE, "solid", 1.4),
                (~three, t["power_other"], _styles.OTHER_POWER, (0, (4, 2.5)), 0.9)):
            segments = _line_coords(lines[mask])
            if segments:
                ax.add_collection(LineCollection(segments, colors=color, linewidths=width,
                                                 linestyles=style, zorder=3))
                handles.append((Line2D([], [], color=color, linewidth=width, linestyle=style),
                                label, False))

    # pump stations by status
    for _, pumps in _layers(plan, "pumps"):
        xy = shapely.get_coordinates(pumps.geometry.to_crs(mcrs).to_numpy())
        by = "status" if "status" in pumps.columns else None
        colors = (pumps[by].map(_styles.PUMP_STATUS).fillna(_styles.OTHER).to_list() if by
                  else [_styles.OTHER] * len(pumps))
        ax.scatter(xy[:, 0], xy[:, 1], s=22, c=colors, edgecolors="white", linewidths=0.6,
                   zorder=4)
        handles.append((None, w["pump_legend"] if by else t["pumps"], True))
        items = (_legend_items(pumps[by], _styles.PUMP_STATUS, "point", language) if by
                 else [(_styles.OTHER, t["pumps"], "point")])
        handles += [(Line2D([], [], linestyle="none", marker="o", markersize=5,
                            markerfacecolor=c, markeredgecolor="white", markeredgewidth=0.6),
                     label, False) for c, label, _ in items]

    # commune names at a point inside each commune: a white halo (drawn as a path), then
    # the name as text (so that the PDF's text can be searched and copied); a name that
    # would overlap one already written (larger communes first) is left out and counted
    if "commune_name" in communes.columns:
        points = geoms.representative_point()
        names = communes["commune_name"]
        written = _label_room(ax, points, names, geoms.area.to_numpy(), fontsize=6.5)
        texts = [ax.text(points.iloc[k].x, points.iloc[k].y, str(names.iloc[k]), fontsize=6.5,
                         ha="center", va="center", color="#222222", zorder=5,
                         gid="commune-name") for k in np.flatnonzero(written)]
        try:
            halo = _halo(ax, texts)
        except (AttributeError, TypeError, ValueError):  # matplotlib lays text out otherwise
            from matplotlib.patheffects import Normal, Stroke

            halo = None
            for text in texts:  # the same halo, drawn by each text at every save
                text.set_path_effects([Stroke(linewidth=1.8, foreground="white"), Normal()])
        if halo is not None:  # an artist, not a patch: the map's limits are set
            ax.add_artist(PathPatch(halo, transform=ax.transData, facecolor="#222222",
                                    edgecolor="white", linewidth=1.8, joinstyle="round",
                                    capstyle="butt", zorder=4.9,
                                    gid="commune-name-halo"))
        hidden = int((~written & names.notna().to_numpy()).sum())
        if hidden:
            extra = w["names_hidden"].format(n=format_number(hidden, language=language))
            note = f"{note} {extra}" if note else extra

    _scale_bar(ax, mcrs, language)
    _north_arrow(ax, mcrs, w["north"])
    _legend(fig, handles, note)

    # title, year and date, source
    made = date or datetime.date.today().strftime("%d/%m/%Y")
    name = getattr(plan, "name", None)
    heading = title or (f"{t['title']}: {name}" if name else t["title"])
    fig.set_label(heading)
    top = A4_MM[1] - 10.0
    fig.text(10.0 / A4_MM[0], top / A4_MM[1], heading, fontsize=15, fontweight="bold",
             va="top", gid="title")
    year = results.year or getattr(plan, "year", None)
    sub = " · ".join(([t["year"].format(year=year)] if year else [])
                     + [t["made"].format(date=made)])
    fig.text(10.0 / A4_MM[0], (top - 9.0) / A4_MM[1], sub, fontsize=9, va="top",
             color="#333333", gid="subtitle")
    parts = [t["source"].format(source=source or name or "geoagri"), f"geoagri {__version__}"]
    if _synthetic(communes):
        parts.append(w["synthetic"])
    parts.append(w["crs"].format(crs=mcrs.name if mcrs is not None else "?"))
    fig.text(10.0 / A4_MM[0], 8.0 / A4_MM[1], "; ".join(parts), fontsize=7, va="bottom",
             color="#333333", gid="source")
    return fig


def _fraction(box_mm: tuple[float, float, float, float]) -> list[float]:
    """A box on the page, mm, as fractions of the figure."""
    left, bottom, width, height = box_mm
    return [left / A4_MM[0], bottom / A4_MM[1], width / A4_MM[0], height / A4_MM[1]]


def _set_extent(ax: Any, bounds: np.ndarray, margin: float = 0.04) -> None:
    """Limits around ``bounds`` with the axes' own proportions, one unit the same both ways.

    Exactly: matplotlib's ``adjustable="datalim"`` leaves a mismatch under 0.5% alone.
    """
    x0, y0, x1, y1 = (float(v) for v in bounds)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    width, height = (x1 - x0) * (1 + 2 * margin), (y1 - y0) * (1 + 2 * margin)
    pos = ax.get_position()  # the axes' own shape on the page, not the mm it was asked for
    size = ax.get_figure().get_size_inches()
    box = (pos.width * size[0]) / (pos.height * size[1])
    if width / max(height, 1e-9) > box:
        height = width / box
    else:
        width = height * box
    ax.set_xlim(cx - width / 2, cx + width / 2)
    ax.set_ylim(cy - height / 2, cy + height / 2)
    ax.set_aspect("equal", adjustable="datalim")


def _quarter_pixel(ax: Any) -> float:
    """A quarter of a pixel of the PNG (300 dpi) on the map, in its CRS units."""
    (x0, x1) = ax.get_xlim()
    pos = ax.get_position()
    return (x1 - x0) / (pos.width * ax.get_figure().get_size_inches()[0] * DPI) / 4


def _drawn(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """The outlines as the page can show them: simplified by ``tolerance`` (a quarter of
    a pixel; Douglas–Peucker), a geometry the simplification would empty kept as it is."""
    simple = shapely.simplify(geoms, tolerance, preserve_topology=False)
    lost = shapely.is_empty(simple) & ~shapely.is_empty(geoms)
    simple[lost] = geoms[lost]
    return simple


def _polygon_paths(geoms: np.ndarray, *, compound: bool = False) -> list[MplPath | None]:
    """A matplotlib path of each (multi)polygon's rings, holes included (None if it has
    none); with ``compound``, one path of all of them.

    Built from the coordinate arrays at once: a ring opens with ``MOVETO`` and closes
    with ``CLOSEPOLY``; points and lines of a collection are not areas (left out), nor
    is a ring of fewer than 4 coordinates.
    """
    geoms = np.asarray(geoms, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    polygon = shapely.get_type_id(parts) == 3
    parts, owner = parts[polygon], owner[polygon]
    rings, of = shapely.get_rings(parts, return_index=True)
    size = shapely.get_num_coordinates(rings)
    keep = size >= 4
    rings, size, ring_owner = rings[keep], size[keep], owner[of[keep]]
    xy = shapely.get_coordinates(rings)
    codes = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
    end = np.cumsum(size)
    codes[end - size] = MplPath.MOVETO
    codes[end - 1] = MplPath.CLOSEPOLY
    if compound:
        return [MplPath(xy, codes) if len(xy) else None]
    per = np.bincount(np.repeat(ring_owner, size), minlength=len(geoms))
    bounds = np.r_[0, np.cumsum(per)]  # the rings are in the order of their geometry
    return [MplPath(xy[a:b], codes[a:b]) if b > a else None
            for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]


def _line_coords(geoms: np.ndarray) -> list[np.ndarray]:
    """The coordinates of every part of (multi)line strings, one array per part."""
    parts = shapely.get_parts(geoms[~shapely.is_empty(geoms)]) if len(geoms) else []
    return [shapely.get_coordinates(p) for p in parts if p.geom_type == "LineString"]


def _hatch(missing: str) -> str:
    """matplotlib's hatch of a gap: the web map's stripes (``_HATCHES``), at print density."""
    angle, cross = _HATCHES[missing]
    return "xxx" if cross else ("/" if angle > 0 else "\\") * 3


def _nice_km(span_km: float) -> float:
    """A round length, km (1, 2 or 5 × a power of ten), at most a fifth of ``span_km``.

    Examples
    --------
    >>> _nice_km(23.0), _nice_km(3.1), _nice_km(180.0)
    (2.0, 0.5, 20.0)
    """
    target = span_km / 5
    power = 10 ** math.floor(math.log10(target))
    return float(max((m * power for m in (1, 2, 5) if m * power <= target), default=power))


def _scale_bar(ax: Any, crs: Any, language: str) -> None:
    """A scale bar in km at the lower left: its length in the map's own CRS units."""
    to_m = float(crs.axis_info[0].unit_conversion_factor)  # metres per CRS unit
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    km = _nice_km((x1 - x0) * to_m / 1000)
    length = km * 1000 / to_m
    left, bottom = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    height = 0.008 * (y1 - y0)
    pad = 0.012 * (x1 - x0)
    ax.add_patch(Rectangle((left - pad, bottom - pad), length + 2.6 * pad + 0.05 * (x1 - x0),
                           height + 0.045 * (y1 - y0), facecolor="white", alpha=0.85,
                           edgecolor="none", zorder=5.5))
    for i in range(4):  # alternating quarters
        ax.add_patch(Rectangle((left + i * length / 4, bottom), length / 4, height,
                               facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="none", zorder=6))
    ax.add_patch(Rectangle((left, bottom), length, height, facecolor="none",
                           edgecolor="black", linewidth=0.6, zorder=6, gid="scale-bar"))
    label_y = bottom + height * 1.6
    ax.text(left, label_y, "0", fontsize=7, ha="center", va="bottom", zorder=6)
    ax.text(left + length / 2, label_y, format_number(km / 2, language=language,
                                                      decimals=_decimals(km / 2)),
            fontsize=7, ha="center", va="bottom", zorder=6)
    ax.text(left + length, label_y,
            f"{format_number(km, language=language, decimals=_decimals(km))} km",
            fontsize=7, ha="left", va="bottom", zorder=6, gid="scale-bar-label")


def _decimals(km: float) -> int:
    """Decimals that write ``km`` exactly (0.25 → 2, 5 → 0)."""
    return next((d for d in range(4) if abs(round(km, d) - km) < 1e-9), 3)


def _north_arrow(ax: Any, crs: Any, letter: str) -> None:
    """An arrow to true north at the map's centre, at the upper right."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = to_ll.transform(cx, cy)
    nx, ny = to_ll.transform(lon, lat + 0.01, direction="INVERSE")
    angle = math.atan2(nx - cx, ny - cy)  # from grid north, clockwise
    size = 0.06 * (y1 - y0)
    bx, by = x1 - 0.06 * (x1 - x0), y1 - 0.16 * (y1 - y0)
    tip = (bx + size * math.sin(angle), by + size * math.cos(angle))
    ax.annotate("", xy=tip, xytext=(bx, by), zorder=7, gid="north-arrow",
                arrowprops={"arrowstyle": "-|>,head_width=0.35,head_length=0.9",
                            "color": "black", "linewidth": 1.4})
    ax.text(bx + size * 1.25 * math.sin(angle), by + size * 1.25 * math.cos(angle), letter,
            fontsize=11, fontweight="bold", ha="center", va="bottom", zorder=7)


def _label_room(ax: Any, points: Any, names: pd.Series, areas: np.ndarray, *,
                fontsize: float) -> np.ndarray:
    """Which names can be written at their points without overlapping another one.

    Each name's box (its text's width and height at ``fontsize``, plus a
    point of margin, centred on its point) is kept if it meets no box kept
    before it; names are taken by their commune's area, largest first.
    Returns a boolean mask in the order of ``names`` (a missing name: False).
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    x0, x1 = ax.get_xlim()
    pos = ax.get_position()
    per_pt = (x1 - x0) / (pos.width * ax.get_figure().get_size_inches()[0] * 72)
    prop = FontProperties(family=_RC["font.family"], size=fontsize)
    measure = TextToPath()
    boxes = np.full((len(names), 4), np.nan)
    for k, (point, name) in enumerate(zip(points, names, strict=True)):
        if pd.isna(name) or point is None or point.is_empty:
            continue
        width, height, _ = measure.get_text_width_height_descent(str(name), prop, ismath=False)
        half_w, half_h = (width / 2 + 1) * per_pt, (height / 2 + 1) * per_pt
        boxes[k] = (point.x - half_w, point.y - half_h, point.x + half_w, point.y + half_h)
    kept = np.zeros(len(names), dtype=bool)
    chosen: list[np.ndarray] = []
    for k in np.argsort(-np.nan_to_num(areas), kind="stable"):
        b = boxes[k]
        if np.isnan(b[0]):
            continue
        if chosen:
            c = np.array(chosen)
            if ((c[:, 0] < b[2]) & (b[0] < c[:, 2]) & (c[:, 1] < b[3]) & (b[1] < c[:, 3])).any():
                continue
        chosen.append(b)
        kept[k] = True
    return kept


def _halo(ax: Any, texts: Sequence[Any]) -> MplPath | None:
    """One path of the outlines of the letters of ``texts`` where they are drawn, in data
    units: stroked white under them, their halo (None with no text).

    What a ``Stroke`` path effect draws under each text, at every save (its letters
    turned into paths, 0.1 s for a province's names in each file), made once: each
    text's glyph outlines (:class:`~matplotlib.textpath.TextToPath`) placed at its
    baseline as laid out on the PNG's canvas (300 dpi).  The letters' fill under the
    stroke is the text's colour, as the path effect fills them.  It reads the layout
    of matplotlib's texts (``Text._get_layout``, as matplotlib 3.11 returns it);
    where that differs, the caller falls back to the path effect.
    """
    from matplotlib.textpath import TextToPath

    if not texts:
        return None
    renderer = ax.get_figure().canvas.get_renderer()
    to_px = renderer.points_to_pixels(1.0)
    text2path = TextToPath()
    verts, codes = [], []
    for text in texts:
        _, lines, _ = text._get_layout(renderer)  # each line's baseline, from the anchor
        x0, y0 = ax.transData.transform(text.get_position())
        scale = text.get_fontsize() * to_px / text2path.FONT_SCALE
        for line, _, (dx, dy) in lines:
            v, c = text2path.get_text_path(text.get_fontproperties(), line)
            if len(v):
                verts.append(np.asarray(v) * scale + (x0 + dx, y0 + dy))
                codes.append(np.asarray(c))
    if not verts:
        return None
    return MplPath(ax.transData.inverted().transform(np.concatenate(verts)),
                   np.concatenate(codes))


def _legend(fig: Figure, handles: Sequence[tuple[Any, str, bool]], note: str | None) -> None:
    """The legend in the panel right of the map: sections with bold headings."""
    ax = fig.add_axes(_fraction(_LEGEND_BOX), gid="legend")
    ax.set_axis_off()
    empty = Patch(facecolor="none", edgecolor="none")
    legend = ax.legend([h if h is not None else empty for h, _, _ in handles],
                       [label for _, label, _ in handles], loc="upper left", frameon=False,
                       fontsize=7.5, handlelength=2.4, handleheight=1.5, labelspacing=0.55,
                       borderaxespad=0.0)
    for text, (_, _, heading) in zip(legend.get_texts(), handles, strict=True):
        if heading:
            text.set_fontweight("bold")
    if note:
        import textwrap

        ax.text(0.0, 0.0, textwrap.fill(note, 48), fontsize=6.5, va="bottom",
                color="#333333", transform=ax.transAxes)


def _synthetic(communes: Any) -> bool:
    """Whether the communes are synthetic (the bundled demo marks each one so in ``note``)."""
    if "note" not in communes.columns or not len(communes):
        return False
    return bool(communes["note"].astype(str).str.contains("synthetic", case=False).all())
