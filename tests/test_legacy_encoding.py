"""Tests of geoagri.io.legacy_encoding: TCVN3, VNI-Windows and Windows-1258 text."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from geoagri.errors import GeoagriError
from geoagri.io.legacy_encoding import (
    VIETNAMESE_LETTERS,
    EncodingGuess,
    decode_legacy,
    detect_legacy_encoding,
    encode_legacy,
    fix_text_columns,
    guess_legacy_encoding,
    normalize_encoding_name,
    sniff_dbf_encoding,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
COMMUNES_GPKG = DATA / "communes_2025" / "communes_2025.gpkg"

NAMES = [
    "Xã Tuyên Bình Tây",
    "Thị trấn Vĩnh Hưng",
    "Hưng Điền A",
    "Đồng Tháp",
    "HTX Nông nghiệp Khánh Hưng",
]
CAPS_NAMES = [n.upper() for n in NAMES]
LEGACY = ("tcvn3", "vni", "cp1258")

LOWER = [c for c in VIETNAMESE_LETTERS if c.islower()]
UPPER = [c for c in VIETNAMESE_LETTERS if c.isupper()]
TONES = set("\u0300\u0301\u0303\u0309\u0323")
TONED_UPPER = [c for c in UPPER if set(unicodedata.normalize("NFD", c)) & TONES]


# ---------------------------------------------------------------- the alphabet


def test_alphabet_has_134_nfc_letters_in_two_cases():
    assert len(VIETNAMESE_LETTERS) == 134
    assert len(set(VIETNAMESE_LETTERS)) == 134
    assert len(LOWER) == len(UPPER) == 67
    assert {c.upper() for c in LOWER} == set(UPPER)
    assert all(unicodedata.is_normalized("NFC", c) and len(c) == 1 for c in VIETNAMESE_LETTERS)
    # 12 vowels x 5 tones x 2 cases are toned; ă â ê ô ơ ư đ x 2 are not
    assert len(TONED_UPPER) == 60


# ------------------------------------------------------------ hand-checked bytes

# Each byte below was read off published TCVN3/VNI charts (Unikey's VnConv
# tables, xvnkb, the X-TrueType TCVN table), not computed from the module.
TCVN3_BYTES = {
    "đ": b"\xae",
    "Đ": b"\xa7",
    "ă": b"\xa8",
    "â": b"\xa9",
    "ê": b"\xaa",
    "ô": b"\xab",
    "ơ": b"\xac",
    "ư": b"\xad",
    "Ă": b"\xa1",
    "Ư": b"\xa6",
    "á": b"\xb8",
    "à": b"\xb5",
    "ả": b"\xb6",
    "ã": b"\xb7",
    "ạ": b"\xb9",
    "ế": b"\xd5",
    "ộ": b"\xe9",
    "ự": b"\xf9",
    "ỹ": b"\xfc",
    "í": b"\xdd",
    "ý": b"\xfd",
    "ặ": b"\xc6",
    # no VN3 capital: the lowercase code point (what an H font draws capital)
    "Ấ": b"\xca",
    "Ồ": b"\xe5",
}
VNI_BYTES = {
    "đ": b"\xf1",
    "Đ": b"\xd1",
    "ơ": b"\xf4",
    "Ơ": b"\xd4",
    "ư": b"\xf6",
    "Ư": b"\xd6",
    "á": b"a\xf9",
    "Á": b"A\xd9",
    "â": b"a\xe2",
    "ế": b"e\xe1",
    "Ế": b"E\xc1",
    "ặ": b"a\xeb",
    "Ặ": b"A\xcb",
    "ĩ": b"\xf3",
    "Ị": b"\xd2",
    "ỵ": b"\xee",
    "ỳ": b"y\xf8",
    "ờ": b"\xf4\xf8",
    "Ữ": b"\xd6\xd5",
    "ổ": b"o\xe5",
}
CP1258_BYTES = {
    "Đ": b"\xd0",
    "ư": b"\xfd",
    "à": b"\xe0",  # precomposed in the code page
    "ấ": b"\xe2\xec",  # â + combining acute
    "ừ": b"\xfd\xcc",  # ư + combining grave
    "ị": b"i\xf2",  # i + combining dot below
}


@pytest.mark.parametrize(("letter", "expected"), TCVN3_BYTES.items())
def test_tcvn3_known_bytes(letter, expected):
    assert encode_legacy(letter, "tcvn3") == expected


@pytest.mark.parametrize(("letter", "expected"), VNI_BYTES.items())
def test_vni_known_bytes(letter, expected):
    assert encode_legacy(letter, "vni") == expected
    assert decode_legacy(expected, "vni") == letter


@pytest.mark.parametrize(("letter", "expected"), CP1258_BYTES.items())
def test_cp1258_known_bytes(letter, expected):
    assert encode_legacy(letter, "cp1258") == expected
    assert decode_legacy(expected, "cp1258") == letter


def test_known_words():
    assert encode_legacy("Đồng Tháp", "tcvn3") == b"\xa7\xe5ng Th\xb8p"
    assert encode_legacy("Đồng Tháp", "vni") == b"\xd1o\xe0ng Tha\xf9p"
    assert encode_legacy("Xã Tuyên Bình Tây", "tcvn3") == b"X\xb7 Tuy\xaan B\xd7nh T\xa9y"
    assert encode_legacy("Xã Tuyên Bình Tây", "vni") == b"Xa\xf5 Tuye\xe2n B\xecnh Ta\xe2y"


def test_tcvn3_vn1_capitals_are_read():
    # TCVN 5712 VN1 puts capitals in bytes VN3 leaves unused
    assert decode_legacy(b"\xc4\xff\xdb", "tcvn3", restore_case=False) == "ẤỐỒ"
    # 0x80-0x9F is the Windows punctuation, in both font encodings
    assert decode_legacy(b"M\x92gar \x93A\x94 \x96", "tcvn3") == "M’gar “A” –"
    assert decode_legacy(b"M\x92gar \x93A\x94 \x96", "vni") == "M’gar “A” –"
    assert encode_legacy("Cư M’gar", "vni") == b"C\xf6 M\x92gar"
    assert detect_legacy_encoding([b"M\x92gar"]) == "cp1258"
    assert decode_legacy(b"\xa0", "tcvn3") == "\u00a0"


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("encoding", ["vni", "cp1258", "utf-8"])
def test_every_letter_round_trips(encoding):
    for letter in VIETNAMESE_LETTERS:
        data = encode_legacy(letter, encoding)
        assert decode_legacy(data, encoding) == letter, (letter, data)


def test_every_letter_round_trips_tcvn3():
    for letter in [*LOWER, *(c for c in UPPER if c not in TONED_UPPER)]:
        assert decode_legacy(encode_legacy(letter, "tcvn3"), "tcvn3") == letter
    for letter in TONED_UPPER:
        # stored as the lowercase byte; the case comes back from a capital word
        assert encode_legacy(letter, "tcvn3") == encode_legacy(letter.lower(), "tcvn3")
        word = f"TH{letter}NG"
        assert decode_legacy(encode_legacy(word, "tcvn3"), "tcvn3") == word
        assert decode_legacy(encode_legacy(letter, "tcvn3"), "tcvn3") == letter.lower()


def test_all_legacy_bytes_distinct():
    for encoding in ("tcvn3", "vni"):
        letters = LOWER if encoding == "tcvn3" else VIETNAMESE_LETTERS
        codes = [encode_legacy(c, encoding) for c in letters]
        assert len(set(codes)) == len(codes)


def test_decomposed_input_is_normalised():
    decomposed = unicodedata.normalize("NFD", "Vĩnh Hưng")
    assert encode_legacy(decomposed, "vni") == encode_legacy("Vĩnh Hưng", "vni")
    assert unicodedata.is_normalized("NFC", decode_legacy(b"Vi\xea\xccn", "cp1258"))


def test_tcvn3_case_restoration():
    caps = encode_legacy("THỊ TRẤN VĨNH HƯNG", "tcvn3")
    assert caps == b"TH\xde TR\xcaN V\xdcNH H\xa6NG"
    assert decode_legacy(caps, "tcvn3") == "THỊ TRẤN VĨNH HƯNG"
    assert decode_legacy(caps, "tcvn3", restore_case=False) == "THị TRấN VĩNH HƯNG"
    # title case: a word starting with a toned vowel gets its capital back
    assert decode_legacy(b"\xf8ng Ho\xb5", "tcvn3") == "Ứng Hoà"
    assert decode_legacy(b"\xca\x70 B\xbec", "tcvn3") == "Ấp Bắc"
    # running text keeps its lowercase
    assert decode_legacy(b"Th\xde tr\xcan \xf8ng Ho\xb5", "tcvn3") == "Thị trấn ứng Hoà"
    assert decode_legacy(b"\xcap 3", "tcvn3") == "ấp 3"
    # ambiguous: one ASCII capital per word reads as title case
    assert decode_legacy(encode_legacy("XÃ BÁ", "tcvn3"), "tcvn3") == "Xã Bá"


def test_vni_lenient_and_stray_bytes():
    assert decode_legacy(b"a\xd9", "vni") == "á"  # capital diacritic after a small letter
    assert decode_legacy(b"i\xf9", "vni") == "í"  # toned i as two bytes
    assert decode_legacy(b"\xd9 1", "vni") == "Ù 1"  # diacritic with no letter: kept


def test_python_codecs_pass_through():
    assert decode_legacy(b"caf\xe9", "latin-1") == "café"
    assert decode_legacy("Hưng".encode(), "UTF-8") == "Hưng"
    assert encode_legacy("Hưng", "utf8") == "Hưng".encode()


# ----------------------------------------------------------------------- errors


def test_unknown_encoding():
    with pytest.raises(GeoagriError, match="unknown text encoding 'klingon'"):
        decode_legacy(b"abc", "klingon")
    with pytest.raises(GeoagriError, match="unknown text encoding 'klingon'"):
        encode_legacy("abc", "klingon")
    with pytest.raises(GeoagriError, match="non-empty string"):
        normalize_encoding_name("  ")


@pytest.mark.parametrize(
    ("text", "encoding", "message"),
    [
        ("Giá 5Ω", "tcvn3", r"'Ω' \(U\+03A9\) at position 5 .* cannot be encoded in tcvn3"),
        ("Façade", "vni", r"'ç' \(U\+00E7\) at position 2 .* vni"),
        ("Ω", "cp1258", r"'Ω' \(U\+03A9\) at position 0 .* cp1258"),
        ("Hưng", "latin-1", r"'ư' \(U\+01B0\) at position 1 .* latin-1"),
    ],
)
def test_unencodable_character_is_named(text, encoding, message):
    with pytest.raises(GeoagriError, match=message):
        encode_legacy(text, encoding)


def test_bad_inputs():
    with pytest.raises(GeoagriError, match=r"not valid utf-8: byte b'\\xb7' at position 1"):
        decode_legacy(b"X\xb7", "utf-8")
    with pytest.raises(GeoagriError, match="decode_legacy needs bytes, got str"):
        decode_legacy("Xã", "tcvn3")
    with pytest.raises(GeoagriError, match="encode_legacy needs a str, got bytes"):
        encode_legacy(b"X", "tcvn3")
    with pytest.raises(GeoagriError, match=r"samples must be bytes, got str 'Xã'.*latin-1"):
        detect_legacy_encoding(["Xã"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("UTF-8", "utf-8"),
        ("utf8", "utf-8"),
        ("65001", "utf-8"),
        ("1258", "cp1258"),
        ("Windows-1258", "cp1258"),
        ("ANSI 1258", "cp1258"),
        ("1252", "cp1252"),
        ("ISO-8859-1", "latin-1"),
        ("LATIN1", "latin-1"),
        ("ABC", "tcvn3"),
        ("TCVN3", "tcvn3"),
        ("VNI-Windows", "vni"),
        ("cp866", "cp866"),
    ],
)
def test_normalize_encoding_name(name, expected):
    assert normalize_encoding_name(name) == expected


# -------------------------------------------------------------------- detection


@pytest.mark.parametrize("encoding", LEGACY)
@pytest.mark.parametrize("names", [NAMES, CAPS_NAMES], ids=["title", "caps"])
def test_detect_column_of_names(encoding, names):
    guess = guess_legacy_encoding(encode_legacy(n, encoding) for n in names)
    assert guess.encoding == encoding
    assert guess.score == 1.0
    assert guess.runner_up in LEGACY and guess.runner_up != encoding
    assert guess.runner_up_score < 0.5


@pytest.mark.parametrize("encoding", LEGACY)
@pytest.mark.parametrize("name", [*NAMES, *CAPS_NAMES, "Vĩnh Hưng", "Đồng Tháp", "Tân Hưng"])
def test_detect_single_short_name(encoding, name):
    assert detect_legacy_encoding([encode_legacy(name, encoding)]) == encoding


def test_detect_utf8_ascii_and_foreign():
    assert guess_legacy_encoding(n.encode("utf-8") for n in NAMES) == EncodingGuess(
        "utf-8", 1.0, None, 0.0, 14
    )
    assert detect_legacy_encoding([b"Ea Kar", b"Krong Bong", None, float("nan")]) == "ascii"
    assert detect_legacy_encoding([]) == "ascii"
    # mostly ASCII with one Vietnamese word
    assert detect_legacy_encoding([b"HTX 1", b"Ea Kar", encode_legacy("Tây", "vni")]) == "vni"
    # Latin-1 text that is not Vietnamese
    french = [s.encode("latin-1") for s in ("Café de la Gare", "Crème brûlée")]
    guess = guess_legacy_encoding(french)
    assert guess.encoding == "latin-1"
    assert guess.score < 0.3


def test_utf8_wins_when_strict():
    # mixed pure-ASCII and UTF-8 samples are UTF-8; one non-UTF-8 sample is not
    samples = [b"An Long", "Đồng Tháp".encode()]
    assert detect_legacy_encoding(samples) == "utf-8"
    assert detect_legacy_encoding([*samples, encode_legacy("Bình", "tcvn3")]) != "utf-8"


@pytest.mark.skipif(not COMMUNES_GPKG.exists(), reason=f"shared data absent: {COMMUNES_GPKG}")
@pytest.mark.parametrize("encoding", LEGACY)
def test_detect_real_commune_names(encoding):
    names = gpd.read_file(COMMUNES_GPKG, columns=["name"], ignore_geometry=True)["name"]
    names = [n for n in names.dropna() if not n.isascii()]
    assert len(names) > 3000
    assert detect_legacy_encoding(encode_legacy(n, encoding) for n in names) == encoding
    for style in (str, str.upper):
        wrong = [
            n
            for n in names
            if detect_legacy_encoding([encode_legacy(style(n), encoding)]) != encoding
        ]
        # a lone two-word name can be genuinely ambiguous (VNI "Hồng" is, byte
        # for byte, Windows-1258 "Hoàng"); the column as a whole is not
        assert len(wrong) <= 0.03 * len(names), wrong[:20]


# ------------------------------------------------------------ property: phrases

WORDS = (
    "Tuyên Bình Tây Vĩnh Hưng Điền Đồng Tháp Nông nghiệp Khánh Thạnh Mỹ Lợi "
    "Phước Hậu Cần Giuộc Ấp Ứng Hòa Yên Quảng Trị Sơn Thủy Nguyễn Trường Xuân "
    "Lạc Long An Ba xã thị trấn huyện Mười Thạch Hữu Đức Hiệp Ninh Tiến Lũy"
).split()


@st.composite
def phrases(draw):
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8))
    style = draw(st.sampled_from(["lower", "title", "upper", "as-is"]))
    return style, " ".join(
        {"lower": w.lower(), "title": w[0].upper() + w[1:], "upper": w.upper()}.get(style, w)
        for w in words
    )


@settings(max_examples=300, deadline=None)
@given(phrases())
def test_phrases_round_trip(style_phrase):
    style, phrase = style_phrase
    for encoding in ("vni", "cp1258", "utf-8"):
        assert decode_legacy(encode_legacy(phrase, encoding), encoding) == phrase
    back = decode_legacy(encode_legacy(phrase, "tcvn3"), "tcvn3")
    assert back.casefold() == phrase.casefold()
    words = phrase.split()
    ascii_letters = [sum(c.isascii() and c.isalpha() for c in w) for w in words]
    if (
        style == "lower"
        or (style == "upper" and max(ascii_letters) >= 2)
        or (style == "title" and any(w[0].isascii() for w in words))
    ):
        assert back == phrase


@settings(max_examples=300, deadline=None)
@given(phrases())
def test_phrases_detected(style_phrase):
    _, phrase = style_phrase
    distinct = {w.lower() for w in phrase.split() if not w.isascii()}
    if len(distinct) < 4:
        return
    for encoding in (*LEGACY, "utf-8"):
        assert detect_legacy_encoding([encode_legacy(phrase, encoding)]) == encoding


# -------------------------------------------------------------- fix_text_columns


def _as_read(names, encoding):
    """Values as GDAL gives them when told the DBF is Latin-1."""
    return [None if n is None else encode_legacy(n, encoding).decode("latin-1") for n in names]


@pytest.mark.parametrize("encoding", LEGACY)
def test_fix_text_columns_detects_and_decodes(encoding):
    index = list("abcdef")
    df = pd.DataFrame(
        {
            "name": pd.Series(_as_read([*NAMES, None], encoding), dtype=object, index=index),
            "district": pd.Series(
                _as_read(["Vĩnh Hưng"] * 5 + ["Tân Hưng"], encoding), index=index
            ),
            "code": [27775, 27781, 27787, 27790, 27793, 27796],
            "area_ha": [1250.5, 310.0, 42.0, 0.5, 7.25, None],
        },
        index=index,
    )
    before = df.copy(deep=True)
    fixed, used = fix_text_columns(df)
    assert used == encoding
    assert fixed["name"].tolist() == [*NAMES, None]
    assert fixed["district"].tolist() == ["Vĩnh Hưng"] * 5 + ["Tân Hưng"]
    pd.testing.assert_frame_equal(df, before)  # input untouched
    pd.testing.assert_series_equal(fixed["code"], df["code"])
    pd.testing.assert_series_equal(fixed["area_ha"], df["area_ha"])
    assert list(fixed.index) == list("abcdef")
    assert fixed.dtypes.tolist() == df.dtypes.tolist()


def test_fix_text_columns_explicit_and_edge_cases():
    df = pd.DataFrame({"name": [*_as_read(["Bình"], "vni"), "Hưng", 5]}, dtype=object)
    fixed, used = fix_text_columns(df, encoding="VNI-Windows")
    # "Hưng" is already Unicode (not Latin-1), 5 is not text: both kept
    assert used == "vni"
    assert fixed["name"].tolist() == ["Bình", "Hưng", 5]
    ascii_df = pd.DataFrame({"name": ["An Long", "Ea Kar"]})
    fixed, used = fix_text_columns(ascii_df)
    assert used == "ascii"
    pd.testing.assert_frame_equal(fixed, ascii_df)
    assert fixed is not ascii_df


def test_fix_text_columns_errors():
    df = pd.DataFrame({"name": ["ok", "X\xb7 B\xd7nh"]}, index=[10, 11])
    with pytest.raises(GeoagriError, match=r"column 'name', row 11: bytes are not valid utf-8"):
        fix_text_columns(df, encoding="utf-8")
    with pytest.raises(GeoagriError, match="unknown text encoding 'abc123'"):
        fix_text_columns(df, encoding="abc123")


# ----------------------------------------------------------- sniff_dbf_encoding


def _dbf(path: Path, ldid: int) -> Path:
    path.write_bytes(bytes([3]) + bytes(28) + bytes([ldid]) + bytes(2))
    return path


@pytest.mark.parametrize(
    ("label", "expected"),
    [("UTF-8", "utf-8"), ("1258\n", "cp1258"), (" ISO-8859-1 ", "latin-1"), ("ABC", "tcvn3")],
)
def test_sniff_cpg(tmp_path, label, expected):
    _dbf(tmp_path / "x.dbf", 0x03)
    (tmp_path / "x.cpg").write_text(label)
    assert sniff_dbf_encoding(tmp_path / "x.shp") == expected
    assert sniff_dbf_encoding(tmp_path / "x.dbf") == expected
    assert sniff_dbf_encoding(tmp_path / "x") == expected


@pytest.mark.parametrize(
    ("ldid", "expected"),
    [(0x00, None), (0x57, None), (0x03, "cp1252"), (0xC9, "cp1251"), (0x4E, "cp949"), (0xEE, None)],
)
def test_sniff_language_driver(tmp_path, ldid, expected):
    _dbf(tmp_path / "x.dbf", ldid)
    assert sniff_dbf_encoding(tmp_path / "x.shp") == expected


def test_sniff_unknown_cpg_falls_back_to_ldid(tmp_path, caplog):
    _dbf(tmp_path / "x.dbf", 0x03)
    (tmp_path / "x.CPG").write_text("no-such-codepage")
    with caplog.at_level("WARNING", logger="geoagri"):
        assert sniff_dbf_encoding(tmp_path / "x.shp") == "cp1252"
    assert "unknown encoding label 'no-such-codepage'" in caplog.text


def test_sniff_errors(tmp_path):
    with pytest.raises(GeoagriError, match=r"no \.dbf file next to .*missing\.shp"):
        sniff_dbf_encoding(tmp_path / "missing.shp")
    (tmp_path / "short.dbf").write_bytes(b"\x03\x00")
    with pytest.raises(GeoagriError, match=r"too short \(2 bytes\) to be a DBF"):
        sniff_dbf_encoding(tmp_path / "short.dbf")


# ------------------------------------------------------------------ end to end


@pytest.mark.parametrize(
    ("encoding", "engine"), [("tcvn3", "pyogrio"), ("vni", "pyogrio"), ("tcvn3", "fiona")]
)
def test_legacy_shapefile_end_to_end(tmp_path, encoding, engine):
    names = [*NAMES, *CAPS_NAMES[:2], "Ứng Hoà"]
    gdf = gpd.GeoDataFrame(
        {
            "TEN_XA": _as_read(names, encoding),
            "MA_XA": list(range(27775, 27775 + len(names))),
        },
        geometry=[Point(580_000 + 1_000 * i, 1_200_000) for i in range(len(names))],
        crs="EPSG:32648",
    )
    path = tmp_path / "xa.shp"
    # GDAL spells Latin-1 "latin1" or "ISO-8859-1" (it rejects "latin-1")
    gdf.to_file(path, engine=engine, encoding="latin1")
    path.with_suffix(".cpg").unlink()  # an old file declares nothing
    raw = path.with_suffix(".dbf").read_bytes()
    assert encode_legacy(names[0], encoding) in raw
    assert sniff_dbf_encoding(path) is None

    read = gpd.read_file(path, encoding="latin1")
    fixed, used = fix_text_columns(read)
    assert used == encoding
    assert fixed["TEN_XA"].tolist() == names
    assert all(unicodedata.is_normalized("NFC", n) for n in fixed["TEN_XA"])
    assert fixed["MA_XA"].tolist() == gdf["MA_XA"].tolist()
    assert isinstance(fixed, gpd.GeoDataFrame)
    assert fixed.crs == gdf.crs
    assert fixed.geometry.equals(read.geometry)
