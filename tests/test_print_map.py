"""Tests of geoagri.print_map: the A4 map (PNG, PDF) read back with Pillow and poppler.

The page and pixel sizes are A4's own (297 × 210 mm; 3508 × 2480 px at 300 dpi);
colours are checked against the web map's, pixel by pixel; the scale bar against
the metric CRS and a geodesic on the ellipsoid; the north arrow against true north.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import warnings
from dataclasses import replace

import folium
import matplotlib
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.ft2font import FT2Font
from PIL import Image
from pyproj import Geod, Transformer

from geoagri.datasets import demo
from geoagri.errors import OutputError, SchemaError
from geoagri.maps import COVERAGE_COLORS, plan_map
from geoagri.print_map import print_map, save_print_map, write_print_map
from geoagri.results import compute

A4_PT = (297 / 25.4 * 72, 210 / 25.4 * 72)  # 841.89 × 595.28 pt
POPPLER = shutil.which("pdfinfo") and shutil.which("pdftotext")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="pdfinfo/pdftotext (poppler-utils) "
                                   "not installed: apt-get install poppler-utils")
HOSTILE = ["<b>x</b>", "=1+1", "Xã $x^2$ & 'A'", "Xã Ê\\nĐ"]


@pytest.fixture(scope="module")
def results():
    return compute(demo(), curve_steps=0)


@pytest.fixture(scope="module")
def drawn(results, tmp_path_factory):
    """The Vietnamese map of the demo, drawn once and saved as PNG and PDF."""
    folder = tmp_path_factory.mktemp("print")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = print_map(results, date="05/12/2026")
        png, pdf = save_print_map(fig, folder / "map.png", folder / "map.pdf")
    return fig, png, pdf, caught


def _pdftotext(path) -> str:
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    return re.sub(r"\s+", " ", text)


def _pdfinfo(path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                         text=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":")
                                                 for line in out.splitlines())}


def _map_axes(fig):
    return next(a for a in fig.axes if a.get_gid() == "map")


def _by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


# ----------------------------------------------------------------------------- page


def test_png_is_a4_landscape_at_300_dpi(drawn):
    _, png, _, _ = drawn
    with Image.open(png) as im:
        assert im.size == (3508, 2480)
        dpi = im.info["dpi"]
    assert dpi == pytest.approx((300, 300), abs=0.01)
    # 3508 px at 300 dpi is A4's 297 mm, 2480 px its 210 mm (to a tenth of a mm)
    assert 3508 / dpi[0] * 25.4 == pytest.approx(297, abs=0.1)
    assert 2480 / dpi[1] * 25.4 == pytest.approx(210, abs=0.1)


def test_png_is_opaque_rgb_with_its_metadata(drawn):
    _, png, _, _ = drawn
    with Image.open(png) as im:
        assert im.mode == "RGB"  # the page is opaque: no alpha channel to store
        assert im.info["Title"].startswith("Bản đồ liên kết sản xuất và hạ tầng")
        assert im.info["Software"].startswith("geoagri ")
        assert im.getpixel((5, 5)) == (255, 255, 255)  # the white page at its corner


def test_outlines_are_drawn_within_a_quarter_pixel_of_the_communes(drawn, results):
    """The commune paths are the communes simplified by at most a quarter of a pixel."""
    fig, _, _, _ = drawn
    ax = _map_axes(fig)
    geoms = results.plan.only("communes").geometry.to_crs(results.plan.metric_crs)
    # metres per pixel of the PNG: the axes' width in data units over its width in px
    (x0, x1) = ax.get_xlim()
    per_px = (x1 - x0) / (ax.get_position().width * 3508)
    [collection] = _by_gid(ax, "communes")
    paths = collection.get_paths()
    assert len(paths) == len(geoms)
    for path, geom in zip(paths, geoms, strict=True):
        drawn_rings = [shapely.LinearRing(r) for r in path.to_polygons(closed_only=True)]
        exact = [geom.exterior, *geom.interiors] if geom.geom_type == "Polygon" else [
            r for p in geom.geoms for r in (p.exterior, *p.interiors)]
        assert len(drawn_rings) == len(exact)
        assert shapely.hausdorff_distance(shapely.MultiLineString(drawn_rings),
                                          shapely.MultiLineString(exact)) <= per_px / 4 + 1e-6
    assert sum(len(p.vertices) for p in paths) < shapely.get_num_coordinates(geoms).sum()


def test_polygon_paths_open_and_close_each_ring():
    from matplotlib.path import Path as MplPath

    from geoagri.print_map import _polygon_paths

    box = shapely.box
    holed = shapely.Polygon(box(0, 0, 4, 4).exterior.coords, [box(1, 1, 2, 2).exterior.coords])
    two = shapely.MultiPolygon([box(10, 0, 11, 1), box(12, 0, 13, 1)])
    mixed = shapely.GeometryCollection([shapely.Point(0, 0), box(20, 0, 21, 1)])
    paths = _polygon_paths(np.array([holed, two, shapely.Polygon(), mixed], dtype=object))
    assert paths[2] is None
    m, line, close = MplPath.MOVETO, MplPath.LINETO, MplPath.CLOSEPOLY
    ring = [m, line, line, line, close]
    assert paths[0].codes.tolist() == ring * 2  # the shell, then the hole
    assert paths[0].vertices[5:].tolist() == list(map(list, box(1, 1, 2, 2).exterior.coords))
    assert paths[1].codes.tolist() == ring * 2
    assert paths[3].codes.tolist() == ring  # the collection's point is no area
    assert paths[3].vertices.min(axis=0).tolist() == [20, 0]
    [one] = _polygon_paths(np.array([holed, two], dtype=object), compound=True)
    assert len(one.vertices) == 20 and one.codes.tolist() == ring * 4


@needs_poppler
def test_pdf_is_one_a4_landscape_page(drawn):
    _, _, pdf, _ = drawn
    info = _pdfinfo(pdf)
    assert info["Pages"] == "1"
    w, h = (float(v) for v in re.match(r"([\d.]+) x ([\d.]+) pts", info["Page size"]).groups())
    assert w == pytest.approx(A4_PT[0], abs=0.5) and h == pytest.approx(A4_PT[1], abs=0.5)
    assert info["Title"].startswith("Bản đồ liên kết sản xuất và hạ tầng")


@needs_poppler
def test_pdf_embeds_each_font_once_as_truetype(drawn):
    _, _, pdf, _ = drawn
    out = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True,
                         text=True).stdout.splitlines()[2:]
    names = sorted(line.split()[0].split("+")[-1] for line in out)
    # the Vietnamese letters (beyond U+00FF) in the same subset as the others
    assert names == ["DejaVuSans", "DejaVuSans-Bold"]
    assert all("CID TrueType" in line for line in out)


@needs_poppler
def test_pdf_text_has_title_names_legend_and_scale(drawn, results):
    fig, _, pdf, _ = drawn
    text = _pdftotext(pdf)
    assert "Bản đồ liên kết sản xuất và hạ tầng: Huyện Vĩnh Hưng" in text
    assert "Năm 2024 · Lập ngày 05/12/2026" in text
    for name in results.plan.only("communes")["commune_name"]:
        assert name in text, name
    # the legend's classes run from the lowest commune share to the highest (the results')
    share = results.linkage.dropna(subset=["commune_id"])["commune_share_pct"]
    low = f"{share.min():.1f}%".replace(".", ",")
    high = f"{share.max():.1f}%".replace(".", ",")
    classes = re.findall(r"(\d+,\d%) – (\d+,\d%)", text)
    assert len(classes) == 5
    assert classes[0][0] == low and classes[-1][1] == high
    assert all(a[1] == b[0] for a, b in itertools.pairwise(classes))  # contiguous
    for label in ("Tỷ lệ diện tích liên kết theo xã", "Vùng thiếu hạ tầng", "Trạm bơm",
                  "Điện 3 pha", "Trạm bơm và điện 3 pha", "Điện 1 pha và khác",
                  "Đang hoạt động", "41 vùng thiếu nhỏ hơn 0,1 ha không vẽ trên bản đồ."):
        assert label in text, label
    scale = _by_gid(_map_axes(fig), "scale-bar-label")[0].get_text()
    assert re.fullmatch(r"\d+(,\d+)? km", scale) and scale in text
    assert "Nguồn: Huyện Vĩnh Hưng — synthetic demo; geoagri " in text
    assert "dữ liệu tổng hợp" in text and "VN-2000 / TM-3 105-45" in text


def test_every_character_has_a_glyph(drawn):
    """No missing-glyph warning, and every character drawn is in the font drawn with."""
    fig, _, _, caught = drawn
    assert not [w for w in caught if "glyph" in str(w.message).lower()]
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    assert any("ữ" in t.get_text() for t in texts)  # Vietnamese is drawn
    for t in texts:
        font = FT2Font(matplotlib.font_manager.findfont(t.get_fontproperties(),
                                                        fallback_to_default=False))
        charmap = font.get_charmap()
        missing = {c for c in t.get_text() if not c.isspace() and ord(c) not in charmap}
        assert not missing, (t.get_text(), missing)
        assert "DejaVu" in font.family_name


# ----------------------------------------------------------------------------- geometry


def test_scale_bar_length_is_its_label_in_the_metric_crs(drawn, results):
    fig, png, _, _ = drawn
    ax = _map_axes(fig)
    crs = results.plan.metric_crs
    assert crs.axis_info[0].unit_name == "metre"
    bar = _by_gid(ax, "scale-bar")[0]
    label = _by_gid(ax, "scale-bar-label")[0].get_text()
    km = float(label.removesuffix(" km").replace(",", "."))
    assert bar.get_width() == pytest.approx(km * 1000, rel=1e-12)
    # the same length on the ellipsoid: the ends' geodesic distance (TM-3, scale factor 0.9999)
    x0, y0 = bar.get_x(), bar.get_y()
    to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_ll.transform([x0, x0 + km * 1000], [y0, y0])
    metres = Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)[2]
    assert metres == pytest.approx(km * 1000, rel=2e-3)
    # one metre is as many pixels across as up (the bar holds in every direction) ...
    (px0, py0), (px1, py1) = ax.transData.transform([(0, 0), (1000, 1000)])
    assert px1 - px0 == pytest.approx(py1 - py0, rel=1e-9)
    # ... and the bar's first (black) quarter is that many pixels long in the PNG
    left, mid_y = ax.transData.transform((x0, y0 + bar.get_height() / 2))
    row = 2480 - int(mid_y)
    with Image.open(png) as im:
        line = np.asarray(im.convert("RGB"))[row]
    black = np.all(line < 40, axis=1)
    start = int(np.argmax(black[int(left) - 3:])) + int(left) - 3
    run = int(np.argmax(~black[start:]))
    assert run == pytest.approx(km * 1000 / 4 * (px1 - px0) / 1000, abs=2.5)


def test_north_arrow_points_to_true_north(drawn, results):
    fig, _, _, _ = drawn
    arrow = _by_gid(_map_axes(fig), "north-arrow")[0]
    (tx, ty), (hx, hy) = arrow.xyann, arrow.xy
    to_ll = Transformer.from_crs(results.plan.metric_crs, 4326, always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_ll.transform([tx, hx], [ty, hy])
    azimuth = Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)[0]
    assert abs(azimuth) < 0.05  # degrees from true north
    assert lat1 > lat0


def test_commune_colours_are_the_web_maps(drawn, results):
    """The most frequent colour inside each commune in the PNG is its web-map fill."""
    fig, png, _, _ = drawn
    ax = _map_axes(fig)
    plan = results.plan
    m = plan_map(plan, results.map_results(), offline=True, parcels=False)
    layer = next(c for c in m._children.values()
                 if isinstance(c, folium.GeoJson) and "tỷ lệ" in str(c.layer_name))
    web = {f["properties"]["p0"]: f["properties"]["style"]["fillColor"]
           for f in layer.data["features"]}
    communes = plan.only("communes")
    geoms = communes.geometry.to_crs(plan.metric_crs)
    with Image.open(png) as im:
        pixels = np.asarray(im.convert("RGB"))
    inverse = ax.transData.inverted()
    found = {}
    for name, geom in zip(communes["commune_name"], geoms, strict=True):
        (c0, r1), (c1, r0) = ax.transData.transform(np.reshape(geom.bounds, (2, 2)))
        cols, rows = np.meshgrid(np.arange(int(c0), int(c1) + 1, 2),
                                 np.arange(int(r1), int(r0) + 1, 2))
        xy = inverse.transform(np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5]))
        inside = shapely.contains_xy(geom, xy[:, 0], xy[:, 1])
        sample = pixels[2480 - 1 - rows.ravel()[inside], cols.ravel()[inside]]
        colours, counts = np.unique(sample, axis=0, return_counts=True)
        found[name] = "#{:02x}{:02x}{:02x}".format(*colours[np.argmax(counts)])
    assert found == web
    # the ramp follows the results: a commune with a larger share is never lighter
    share = results.linkage.set_index("commune_name")["commune_share_pct"]
    order = sorted(found, key=lambda n: share[n])
    ranks = [COVERAGE_COLORS.index(found[n]) for n in order]
    assert ranks == sorted(ranks) and ranks[0] == 0 and ranks[-1] == 4


# ----------------------------------------------------------------------------- names, language


@needs_poppler
def test_hostile_commune_names_are_drawn_verbatim(results, tmp_path):
    communes = results.plan.only("communes").copy()
    communes["commune_name"] = HOSTILE + list(communes["commune_name"][len(HOSTILE):])
    layers = dict(results.plan.layers)
    layers["communes"] = communes
    hostile = replace(results, plan=replace(results.plan, layers=layers))
    fig = print_map(hostile)
    names = [t.get_text() for t in _by_gid(_map_axes(fig), "commune-name")]
    assert names == list(communes["commune_name"])
    save_print_map(fig, tmp_path / "h.png", tmp_path / "h.pdf")
    text = _pdftotext(tmp_path / "h.pdf")
    for name in HOSTILE[:3]:  # "$x^2$" is not typeset as x²: mathtext is off
        assert name in text, name


def test_a_matplotlib_that_lays_text_out_otherwise_gets_the_halo_as_a_path_effect(
        results, monkeypatch, tmp_path):
    """matplotlib 3.8 to 3.10 give each line of a text's layout as (line, (w, h), x, y):
    the halo is then drawn by each name's own white stroke, and the map is still saved."""
    from matplotlib.patheffects import Stroke
    from matplotlib.text import Text

    layout = Text._get_layout

    def older(self, renderer):
        bbox, lines, descent = layout(self, renderer)
        return bbox, [(line, wad[:2], *xy) for line, wad, xy in lines], descent

    monkeypatch.setattr(Text, "_get_layout", older)
    fig = print_map(results, date="05/12/2026")
    ax = _map_axes(fig)
    names = _by_gid(ax, "commune-name")
    assert names and _by_gid(ax, "commune-name-halo") == []
    for name in names:
        (stroke, _) = name.get_path_effects()
        assert isinstance(stroke, Stroke)
    monkeypatch.undo()  # the layout matplotlib's own drawing expects
    (png,) = save_print_map(fig, tmp_path / "map.png")
    assert png.stat().st_size > 0


def test_each_name_has_its_white_halo_under_its_letters(drawn):
    """The halo is one path of the names' letters: each name's letters, where the PNG
    draws the name (within a pixel of its box), and nothing elsewhere."""
    fig = drawn[0]
    ax = _map_axes(fig)
    names = _by_gid(ax, "commune-name")
    (halo,) = _by_gid(ax, "commune-name-halo")
    assert halo.get_edgecolor()[:3] == (1.0, 1.0, 1.0) and halo.get_linewidth() == 1.8
    assert halo.get_zorder() < min(t.get_zorder() for t in names)  # under the names
    renderer = fig.canvas.get_renderer()
    xy = halo.get_transform().transform(halo.get_path().vertices)  # PNG pixels
    boxes = [t.get_window_extent(renderer) for t in names]
    inside = np.zeros(len(xy), dtype=bool)
    for name, box in zip(names, boxes, strict=True):
        here = ((xy[:, 0] >= box.x0 - 1) & (xy[:, 0] <= box.x1 + 1)
                & (xy[:, 1] >= box.y0 - 1) & (xy[:, 1] <= box.y1 + 1))
        assert here.any(), name.get_text()
        # the letters span the name's width: from its first letter's side bearing (under
        # 3 px) to within 10 px (0.85 mm: the last letter's bearing and the hinted
        # advances of the text drawn); a halo laid out at another resolution, or not
        # centred on the name, is off by tens of pixels
        assert -1 <= xy[here, 0].min() - box.x0 < 3, name.get_text()
        assert -1 <= box.x1 - xy[here, 0].max() < 10, name.get_text()
        inside |= here
    assert inside.all()  # no letter of the halo away from a name


def test_names_that_would_overlap_are_left_out_and_counted(results):
    # each commune drawn twice, under a second name: two names at one point
    first = results.plan.only("communes")
    copy = first.assign(commune_id=first["commune_id"].astype(str) + "-2",
                        commune_name=first["commune_name"] + " (2)")
    communes = pd.concat([first, copy], ignore_index=True)
    layers = dict(results.plan.layers)
    layers["communes"] = communes
    crowded = replace(results, plan=replace(results.plan, layers=layers))
    fig = print_map(crowded)
    fig.canvas.draw()
    texts = _by_gid(_map_axes(fig), "commune-name")
    assert len(texts) == len(first)  # one of each pair
    # the written names do not overlap one another
    boxes = [t.get_window_extent() for t in texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)
    # the largest commune is named; the others left out are counted in the legend
    largest = communes.to_crs(results.plan.metric_crs).area.idxmax()
    assert communes.loc[largest, "commune_name"] in [t.get_text() for t in texts]
    legend = next(a for a in fig.axes if a.get_gid() == "legend")
    notes = " ".join(t.get_text() for t in legend.texts).replace("\n", " ")
    assert f"{len(communes) - len(texts)} tên xã không ghi" in notes


@needs_poppler
def test_english_on_request(results, tmp_path):
    write_print_map(results, path_pdf=tmp_path / "en.pdf", language="en", date="2026-12-05")
    text = _pdftotext(tmp_path / "en.pdf")
    for words in ("Production linkage and infrastructure map", "Year 2024 · Made 2026-12-05",
                  "Linkage coverage by commune", "Three-phase power", "Infrastructure gaps",
                  "Source: ", "synthetic data", "Pump stations (by status)"):
        assert words in text, words
    assert re.search(r"\d+\.\d% – \d+\.\d%", text)  # English number style
    assert "Bản đồ" not in text


def test_title_and_source_are_the_callers(results, tmp_path):
    fig = print_map(results, title="Phụ lục: bản đồ", source="UBND huyện")
    texts = {t.get_gid(): t.get_text() for t in fig.texts}
    assert texts["title"] == "Phụ lục: bản đồ"
    assert texts["source"].startswith("Nguồn: UBND huyện; geoagri ")


def test_global_matplotlib_state_is_left_alone(results, tmp_path):
    backend, before = matplotlib.get_backend(), dict(matplotlib.rcParams)
    write_print_map(results, tmp_path / "a.png")
    assert matplotlib.get_backend() == backend
    assert dict(matplotlib.rcParams) == before


def test_bad_language_and_unwritable_path(results, tmp_path):
    with pytest.raises(SchemaError, match="language='fr'"):
        print_map(results, language="fr")
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(OutputError, match=r"cannot write .*a_file/map\.png"):
        write_print_map(results, tmp_path / "a_file" / "map.png")
    assert (tmp_path / "a_file").read_text() == "x"
