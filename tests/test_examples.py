"""The five example plans through the real command line: each document's own figures.

Each example is run once per session (``geoagri demo --example NAME`` through
``geoagri.cli.main``, in process so the imports are paid once) into a temporary
folder; the tests read back ``report.xlsx``, ``tables/summary.csv`` and
``tables/indicators.csv`` and compare them with the figures the seed documents
print (the sentence is quoted above each assertion).  docs/examples.md lists them.
"""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import pandas as pd
import pytest
from _run_tables import indicators, summary, value

from geoagri.cli import main
from geoagri.datasets import EXAMPLES, example, example_plan_path
from geoagri.errors import OptionError


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GEOAGRI_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def ran(cache, tmp_path_factory):
    """name → (output folder, what the command printed), each example run once."""
    done: dict[str, tuple[Path, str]] = {}

    def get(name: str) -> tuple[Path, str]:
        if name not in done:
            out = tmp_path_factory.mktemp(name)
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                code = main(["demo", "--example", name, "--out", str(out)])
            assert code == 0, buf.getvalue()
            done[name] = (out, buf.getvalue())
        return done[name]

    return get


def headlines(out: Path) -> list[str]:
    return summary(out)["Diễn giải"].tolist()


def truncated(x: float, decimals: int) -> float:
    return math.floor(x * 10**decimals + 1e-9) / 10**decimals


# --------------------------------------------------------------------------- the API

def test_every_example_is_marked_synthetic(cache):
    for name in EXAMPLES:
        path = example_plan_path(name)
        text = (path.parent / "README.md").read_text(encoding="utf-8")
        assert "SYNTHETIC" in text, name
        assert "SYNTHETIC" in path.read_text(encoding="utf-8").upper(), name
    plan = example("an-giang")
    assert "SYNTHETIC" in plan.name
    assert set(plan["communes"]["note"]) == {"SYNTHETIC example data"}


def test_every_example_passes_check(cache):
    from geoagri.plan import check_plan

    for name in EXAMPLES:
        assert check_plan(example_plan_path(name)) == {}, name


def test_unknown_example_lists_the_five(cache, capsys):
    with pytest.raises(OptionError, match="vinh-hung, lai-chau, thap-muoi, chi-lang-bac, "
                                          "an-giang"):
        example("phu-khe")
    assert main(["demo", "--example", "phu-khe", "--out", "unused"]) == 1
    assert "unknown example 'phu-khe'" in capsys.readouterr().err


def test_run_on_the_plan_path_is_the_demo_command(ran, tmp_path):
    out, _ = ran("chi-lang-bac")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["run", str(example_plan_path("chi-lang-bac")), "--out",
                     str(tmp_path)]) == 0
    pd.testing.assert_frame_equal(summary(tmp_path), summary(out))


# --------------------------------------------------------------------------- 000 Vĩnh Hưng

def test_vinh_hung(ran):
    out, printed = ran("vinh-hung")
    # "Tổng diện tích thực hiện liên kết sản xuất ... toàn huyện là 23.865ha, đạt 112,4% so
    # với Nghị quyết (theo Nghị quyết năm 2024 là 21.227ha) và đạt 105,4% theo lộ trình đến
    # năm 2025 (22.640ha)."
    # "Diện tích lúa ứng dụng công nghệ cao đến ngày 20/5/2024 là 1.300 ha, đạt 96,2% so với
    # Kế hoạch năm 2024 (1.350ha); luỹ kế ... từ năm 2021 ... là 6.400ha, đạt 129,2% so với
    # lộ trình kế hoạch đến năm 2024 (4.950ha) và đã đạt 101,1% so Nghị quyết đến 2025";
    # "Luỹ kế ... từ năm 2017 đến tháng 5/2024 là 11.873ha, đạt 100,6% so với chỉ tiêu tỉnh
    # giao"; "Vụ Hè thu năm 2024: Huyện hỗ trợ thực hiện 12 mô hình nhân rộng"
    for figures in [("23.865 ha", "112,4%", "(21.227 ha)"), ("23.865 ha", "105,4%", "(22.640 ha)"),
                    ("1.300 ha", "96,2%", "(1.350 ha)"), ("6.400 ha", "129,2%", "(4.950 ha)"),
                    ("6.400 ha", "101,1%", "(6.327 ha)"), ("11.873 ha", "100,6%", "(11.800 ha)"),
                    ("vụ HT 2024: 12,", "100,0%", "(12)")]:
        lines = [h for h in headlines(out) if all(f in h for f in figures)]
        assert len(lines) == 1, figures
        assert lines[0] in printed
    t = indicators(out)
    # "tỉnh đầu tư xây dựng 8 công trình thủy lợi, tổng mức đầu tư 26.000 triệu đồng; huyện
    # đầu tư xây dựng 23 công trình thủy lợi, tổng mức đầu tư 14.610 triệu đồng"
    assert value(t, "works_planned", "district", categories="investor=province") == 8
    assert value(t, "works_planned", "district", categories="investor=district") == 23
    assert value(t, "works_investment", "district",
                 categories="investor=province") == pytest.approx(26_000)
    assert value(t, "works_investment", "district",
                 categories="investor=district") == pytest.approx(14_610)
    # "mô hình ... tại Hợp tác xã Nông nghiệp xã Tuyên Bình Tây, kết quả năng suất bình quân
    # 82 tạ/ha, lợi nhuận 38 triệu đồng/ha"
    assert value(t, "model_yield", "commune", unit="Xã Tuyên Bình Tây",
                 period="DX 2023-2024") == pytest.approx(82.0)
    assert value(t, "model_profit", "commune", unit="Xã Tuyên Bình Tây",
                 period="DX 2023-2024") == pytest.approx(38.0)


# --------------------------------------------------------------------------- 001 Lai Châu

def test_lai_chau(ran):
    out, printed = ran("lai-chau")
    t = indicators(out)
    # "hơn 1.000 ha đất trồng lúa kém hiệu quả đã được chuyển đổi sang trồng các loại cây có
    # giá trị kinh tế" (the example: 320 + 380 + 336,5 ha of rice land by 2023; the 80 ha of
    # maize land converted are not rice land)
    converted = value(t, "rice_converted_area", "province", unit="Tỉnh Lai Châu")
    assert converted > 1000 and converted == pytest.approx(1036.5)
    # "kết nối giữa các huyện Than Uyên, Tân Uyên, Tam Đường, Phong Thổ trong phát triển vùng
    # nguyên liệu chanh leo"
    passion = t[(t["indicator"] == "production_area") & (t["level"] == "district")
                & (t["categories"] == "crop=passion_fruit") & (t["value"] > 0)]
    assert set(passion["unit_name"]) == {"Huyện Than Uyên", "Huyện Tân Uyên",
                                         "Huyện Tam Đường", "Huyện Phong Thổ"}
    # "đa số các chỉ tiêu Nghị quyết đề ra đều đạt trên 50%, một số chỉ tiêu đã đạt và vượt
    # cao như: Sản xuất lúa hàng hóa ...; Một số chỉ tiêu, nhiệm vụ kết quả đạt thấp như:
    # Trồng mới chè cổ thụ" (the example's targets are synthetic: the document gives none)
    s = summary(out).set_index("Nội dung")["Tỷ lệ đạt (%)"]
    assert (s > 50).sum() > len(s) / 2
    assert s["Diện tích lúa hàng hóa"] >= 100
    assert s["Diện tích trồng mới chè cổ thụ"] < 50
    assert ("Diện tích lúa hàng hóa năm 2023: 3.500 ha, đạt 116,6% so với Nghị quyết đến năm "
            "2025 (3.000 ha)") in printed


# --------------------------------------------------------------------------- 002 Tháp Mười

def test_thap_muoi(ran):
    out, printed = ran("thap-muoi")
    # "tổng diện tích liên kết tiêu thụ lúa là 23.183,8 ha/26.000 ha, đạt 89,16% so kế hoạch"
    sentence = ("Diện tích liên kết tiêu thụ (cộng các vụ) năm 2023: 23.183,8 ha, đạt 89,16% "
                "so với Kế hoạch năm 2023 (26.000 ha)")
    assert sentence in printed
    assert headlines(out) == [sentence]
    row = summary(out).iloc[0]
    assert row["Thực hiện"] == pytest.approx(23_183.8) and row["Tỷ lệ đạt (%)"] == 89.16
    from openpyxl import load_workbook

    ws = load_workbook(out / "report.xlsx")["Tổng hợp"]
    assert any(sentence in str(c.value) for row in ws.iter_rows() for c in row)
    t = indicators(out)
    assert value(t, "linkage_sown_area", "district") == pytest.approx(23_183.8)
    # "chiếm 20,07% diện tích xuống giống cả năm"
    assert truncated(value(t, "linkage_share_of_sown_area", "district",
                           unit="Huyện Tháp Mười"), 2) == 20.07
    # "nâng tổng số HTX của huyện là 22 HTX ... Trong đó, có 19 HTX dịch vụ nông nghiệp, 01
    # HTX đa dịch vụ ... và 02 HTX dịch vụ vận tải"; "Năm 2023, thành lập thêm 01 HTX đa dịch
    # vụ An Phát ở Thị trấn Mỹ An"
    assert value(t, "cooperatives", "district") == 22
    for sector, n in [("dịch vụ nông nghiệp", 19), ("đa dịch vụ", 1), ("dịch vụ vận tải", 2)]:
        assert value(t, "cooperatives_by_sector", "district",
                     categories=f"linh_vuc={sector}") == n
    assert value(t, "cooperatives_founded", "district") == 1
    assert value(t, "cooperatives_founded", "commune", unit="Thị trấn Mỹ An") == 1
    # "toàn huyện hiện có 130 (tăng 01 tổ do mới thành lập) tổ hợp tác (THT) với 3.200 thành
    # viên"
    assert value(t, "cooperative_groups", "district") == 130
    assert value(t, "cooperative_group_members", "district") == 3200
    assert value(t, "cooperative_groups_founded", "district") == 1
    # "hiện trên địa bàn có 15 Hội quán với 649 thành viên"
    assert value(t, "farmer_clubs", "district") == 15
    assert value(t, "farmer_club_members", "district") == 649
    # "Có 06 HTX được cấp mã số vùng trồng với diện tích 1.597,93 ha (5 vùng trồng lúa
    # 1.586,53 ha và 01 vùng trồng mít 11,4 ha)"
    assert value(t, "area_code_cooperatives", "district") == 6
    assert value(t, "area_code_area", "district") == pytest.approx(1597.93)
    assert value(t, "area_code_area", "district", categories="crop=rice") == pytest.approx(
        1586.53)
    assert value(t, "area_code_area", "district",
                 categories="crop=jackfruit") == pytest.approx(11.4)
    assert value(t, "area_codes", "district", categories="crop=rice") == 5
    assert value(t, "area_codes", "district", categories="crop=jackfruit") == 1


def test_thap_muoi_farmer_clubs_grew_by_six(cache):
    """"15 Hội quán ... tăng 06 Hội quán so với kỳ cùng năm 2022": the same engine, 2022."""
    from geoagri.indicator_engine import compute_indicators

    t = compute_indicators(example("thap-muoi"), year=2023, since=2022, levels=("district",),
                           indicators=["farmer_clubs"])
    by_year = dict(zip(t["period"], t["value"], strict=True))
    assert by_year["2023"] - by_year["2022"] == 6


# --------------------------------------------------------------------------- 003 Chi Lăng Bắc

def test_chi_lang_bac(ran):
    out, printed = ran("chi-lang-bac")
    lines = headlines(out)
    assert all(line in printed for line in lines)  # a commune's plan prints its own targets
    # "giá trị sản phẩm thu hoạch bình quân/ha đất trồng trọt và nuôi trồng thủy sản đến năm
    # 2025 đạt 210 triệu đồng/ha"
    assert ("Giá trị sản phẩm thu hoạch bình quân/ha năm 2023: 210 triệu đồng/ha, đạt 100,0% "
            "so với Kế hoạch đến năm 2025 (210 triệu đồng/ha)") in lines
    # "Xây dựng 03 mô hình trồng trọt theo chuỗi liên kết sản xuất gắn với tiêu thụ sản phẩm"
    assert ("Số mô hình trồng trọt theo chuỗi liên kết năm 2023: 3, đạt 100,0% so với Kế "
            "hoạch năm 2023 (3)") in lines
    # "Phấn đấu toàn xã đến hết năm 2023 có 05 hộ dân, tích tụ ruộng đất ... quy mô từ
    # 03ha/hộ trở lên"
    assert ("Số hộ tích tụ ruộng đất từ 3 ha trở lên năm 2023: 5, đạt 100,0% so với Kế hoạch "
            "năm 2023 (5)") in lines
    # "Hoàn thiện Đề án khu nuôi trồng thủy sản tập trung 38ha tại thôn Phú Khê"
    assert ("Diện tích khu nuôi trồng thủy sản tập trung năm 2023: 38 ha, đạt 100,0% so với "
            "Kế hoạch năm 2023 (38 ha)") in lines
    t = indicators(out)
    # "Mô hình trồng khoai tây vụ đông 18ha, mô hình trồng dược liệu 03 ha và cây nông sản
    # khác 03ha"
    for crop, ha in [("potato", 18), ("medicinal", 3), ("other", 3)]:
        assert value(t, "linkage_model_area", "commune", unit="11281",
                     categories=f"crop={crop}") == pytest.approx(ha)
    assert value(t, "harvest_value_per_ha", "commune", unit="11281") == pytest.approx(210)


# --------------------------------------------------------------------------- 004 An Giang

def test_an_giang(ran):
    out, printed = ran("an-giang")
    # "Thành lập mới ít nhất 45 HTX NN (trong đó chỉ tiêu thành lập mới theo lộ trình của năm
    # 2024 là 27 HTX NN và bổ sung 18 HTX chưa đạt chỉ tiêu của năm 2023)"
    # "Có 80% HTX NN hoạt động hiệu quả, trong đó xếp loại tốt, khá từ 60% trở lên."
    # "Có ít nhất 30% số HTX tham gia liên kết tiêu thụ nông sản với doanh nghiệp"
    # "mỗi cấp huyện có tối thiểu 03 HTX tổ chức sản xuất theo chuỗi giá trị"
    # "Mỗi cấp huyện: ... nhân rộng ít nhất 02 HTX về ứng dụng công nghệ cao"
    # "Bộ máy quản lý điều hành của HTX đạt ít nhất 24% có trình độ từ cao đẳng trở lên"
    # "phát triển ít nhất 05% THT trên tổng số THT hiện có ... được nâng chất phát triển lên
    # HTX"
    for line in [
        "Hợp tác xã thành lập mới năm 2024: 45, đạt 100,0% so với Kế hoạch năm 2024 (45)",
        "Hợp tác xã thành lập mới năm 2024: 45, đạt 166,6% so với lộ trình năm 2024 (27)",
        "Tỷ lệ HTX hoạt động hiệu quả năm 2024: 80%, đạt 100,0% so với Kế hoạch năm 2024 (80%)",
        "Tỷ lệ HTX xếp loại tốt, khá năm 2024: 60%, đạt 100,0% so với Kế hoạch năm 2024 (60%)",
        "Tỷ lệ HTX liên kết với doanh nghiệp năm 2024: 30%, đạt 100,0% so với Kế hoạch năm "
        "2024 (30%)",
        "Số huyện có từ 3 HTX chuỗi giá trị năm 2024: 11, đạt 100,0% so với Kế hoạch năm 2024 "
        "(11)",
        "Số huyện có từ 2 HTX công nghệ cao năm 2024: 11, đạt 100,0% so với Kế hoạch năm 2024 "
        "(11)",
        "Tỷ lệ cán bộ quản lý HTX có trình độ cao đẳng trở lên năm 2024: 24%, đạt 100,0% so "
        "với Kế hoạch năm 2024 (24%)",
        "Tỷ lệ THT nâng chất lên HTX năm 2024: 5%, đạt 100,0% so với Kế hoạch năm 2024 (5%)",
    ]:
        assert line in printed
        assert line in headlines(out)
    t = indicators(out)
    districts = t[(t["level"] == "district") & (t["categories"] == "")]
    vc = districts[districts["indicator"] == "value_chain_cooperatives"]
    ht = districts[districts["indicator"] == "hightech_cooperatives"]
    assert len(vc) == len(ht) == 11
    assert (vc["value"] >= 3).all() and (ht["value"] >= 2).all()
    assert value(t, "cooperatives_with_partner_pct", "province") == pytest.approx(30.0)
    assert value(t, "cooperatives_founded", "province") == 45
