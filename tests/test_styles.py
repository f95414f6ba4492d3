"""One look everywhere: a status or class has the same colour on the HTML map, in
Google Earth (KML) and in QGIS (QML); exports label fields and values in Vietnamese."""

from __future__ import annotations

import json
import sqlite3
from xml.etree import ElementTree as ET

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geoagri.datasets import demo
from geoagri.export import export_layers, qgis_style
from geoagri.maps import plan_map

KML = {"k": "http://www.opengis.net/kml/2.2"}
UTM = "EPSG:32648"

# the palette written out by hand: status → (#rrggbb, Vietnamese label)
WORKS = {"planned": ("#9e9e9e", "Chưa triển khai"), "surveyed": ("#42a5f5", "Đã khảo sát"),
         "designed": ("#7e57c2", "Đã thiết kế, lập báo cáo KTKT"),
         "under_construction": ("#fb8c00", "Đang thi công"),
         "completed": ("#2e7d32", "Hoàn thành")}
GAPS = {"pump": ("#984ea3", "Trạm bơm"), "power": ("#ff7f00", "Điện 3 pha"),
        "both": ("#a50026", "Trạm bơm và điện 3 pha")}


def _rgb(hex_color):
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))


def _qml_categories(qml):
    """QML of a categorized or rule-based renderer → {label: (r, g, b)}."""
    root = ET.fromstring(qml.split("\n", 1)[1])
    colors = {}
    for sym in root.find("renderer-v2/symbols").iter("symbol"):  # not the source symbol
        layer = sym.find("layer")
        props = {o.get("name") or o.get("k"): o.get("value") or o.get("v")
                 for o in layer.iter() if o.tag in ("Option", "prop")}
        rgb = props.get("color") or props.get("line_color")
        colors[sym.get("name")] = tuple(int(v) for v in rgb.split(",")[:3])
    labels = {}
    for cat in root.iter("category"):
        labels[cat.get("label")] = colors[cat.get("symbol")]
    for rule in root.iter("rule"):
        if rule.get("symbol") is not None:
            labels[rule.get("label")] = colors[rule.get("symbol")]
    return root, labels


@pytest.fixture(scope="module")
def plan():
    return demo()


def test_works_status_has_one_colour_in_map_kml_and_qml(plan, tmp_path):
    # the map's legend
    m = plan_map(plan, offline=True)
    panel = next(c for c in m._children.values() if type(c).__name__ == "_Panel")
    works = next(e for g in json.loads(panel.spec)["groups"] for e in g["layers"]
                 if e["label"] == "Công trình thủy lợi")
    assert {label: color for color, label, _ in works["legend"]} == {
        label: color for color, label in WORKS.values()}
    # QGIS: the works layer mixes lines and points: one rule per status and geometry
    _, qml = _qml_categories(qgis_style(plan["works"], kind="works"))
    for color, label in WORKS.values():
        assert qml[f"{label} (tuyến)"] == _rgb(color)
        assert qml[f"{label} (điểm)"] == _rgb(color)
    # Google Earth: aabbggrr
    path = tmp_path / "layers.kml"
    export_layers({"works": plan["works"]}, path)
    root = ET.parse(path).getroot()
    for status, (color, _) in WORKS.items():
        r, g, b = color[1:3], color[3:5], color[5:7]
        kml = root.find(f".//k:Style[@id='works-{status}']/k:LineStyle/k:color", KML).text
        assert kml == f"ff{b}{g}{r}"


def test_gaps_keep_their_colours_in_proposals_gpkg(tmp_path):
    """The gaps layer of proposals.gpkg is styled by what is missing, as on the map."""
    gaps = gpd.GeoDataFrame(
        {"missing": ["pump", "power", "both"], "zone_id": ["LK01"] * 3,
         "commune_id": ["1"] * 3, "area_ha": [1.0, 2.0, 3.0]},
        geometry=[box(0, 0, 100, 100), box(200, 0, 300, 100), box(400, 0, 500, 100)],
        crs=UTM)
    sites = gpd.GeoDataFrame({"site_id": ["C1"], "cost_vnd": [1.04e9]},
                             geometry=[Point(50, 50)], crs=UTM)
    path = tmp_path / "proposals.gpkg"
    export_layers({"gaps": gaps, "proposed_stations": sites}, path)
    with sqlite3.connect(path) as db:
        qml = dict(db.execute("select f_table_name, styleQML from layer_styles"))
    root, cats = _qml_categories(qml["gaps"])
    assert root.find("renderer-v2").get("attr") == "missing"
    for color, label in GAPS.values():
        assert cats[label] == _rgb(color)
    symbol = ET.fromstring(qml["proposed_stations"].split("\n", 1)[1]).find(".//symbol/layer")
    props = {o.get("name"): o.get("value") for o in symbol.iter("Option")} or \
        {p.get("k"): p.get("v") for p in symbol.iter("prop")}
    assert props["color"].startswith("197,27,125")  # #c51b7d, the map's proposals


def test_qml_has_field_aliases_value_maps_and_commune_labels(plan):
    root, _ = _qml_categories(qgis_style(plan["works"], kind="works"))
    aliases = {a.get("field"): a.get("name") for a in root.iter("alias")}
    assert aliases["status"] == "Tình trạng"
    assert aliases["cost_vnd"] == "Kinh phí (đồng)"
    assert aliases["investor"] == "Chủ đầu tư"
    field = next(f for f in root.iter("field") if f.get("name") == "status")
    widget = field.find("editWidget")
    assert widget.get("type") == "ValueMap"
    shown = {o.get("value"): o.get("name") for o in widget.iter("Option")
             if o.get("type") == "QString"}
    assert shown == {s: WORKS[s][1] for s in set(plan["works"]["status"])}
    # the data keep the codes: a text column without vocabulary has no value map
    name = next(f for f in root.iter("field") if f.get("name") == "name")
    assert name.find("editWidget").get("type") == "TextEdit"
    communes, _ = _qml_categories(qgis_style(plan["communes"], kind="communes"))
    assert communes.get("labelsEnabled") == "1"
    assert communes.find(".//labeling/settings/text-style").get("fieldName") == "commune_name"


def test_kml_names_in_vietnamese_and_communes_unfilled(plan, tmp_path):
    path = tmp_path / "layers.kml"
    export_layers({"zones": plan["zones"], "communes": plan["communes"]}, path)
    root = ET.parse(path).getroot()
    names = [pm.find("k:name", KML).text for pm in root.iter(f"{{{KML['k']}}}Placemark")]
    assert any(n.endswith("(lúa)") for n in names)
    assert not any(n.endswith("(rice)") for n in names)
    fill = root.find(".//k:Style[@id='communes-default']/k:PolyStyle/k:fill", KML)
    assert fill is not None and fill.text == "0"
    zone_fill = root.find(".//k:Style[@id='zones-linkage']/k:PolyStyle/k:fill", KML)
    assert zone_fill is None  # zones stay filled
