"""Legacy Vietnamese 8-bit text encodings: TCVN3 (ABC), VNI-Windows, Windows-1258.

Old Vietnamese shapefiles keep their DBF text in the byte layout of the font
the author typed with, not in a declared code page:

``tcvn3``
    TCVN 5712:1993 VN3, the "ABC" encoding of the ``.VnTime`` fonts, used
    mostly in the north.  One byte per letter.  VN3 has every lowercase
    letter but, of the capitals, only Ă Â Ê Ô Ơ Ư Đ: a capital with a tone
    mark (Ấ, Ồ, Á, ...) does not exist.  Authors wrote capitals with the
    ``.VnTimeH`` "H" fonts, which draw the *lowercase* code points as
    capitals, so the bytes of ``"ĐỒNG THÁP"`` are those of ``"Đồng tháp"``
    with ASCII capitals: ``b"\\xa7\\xe5NG TH\\xb8P"``.
``vni``
    VNI-Windows, the encoding of the ``VNI-Times`` fonts, used mostly in the
    south.  A letter is a base byte followed by at most one diacritic byte
    that carries both the circumflex or breve and the tone
    (``"ế"`` is ``b"e\\xe1"``, ``"Ế"`` is ``b"E\\xc1"``); đ, ơ, ư and the
    toned i (and ỵ) are single bytes.  Capitals have their own diacritic
    bytes.
``cp1258``
    Windows-1258, the Vietnamese Windows code page: precomposed base letters
    (ă, ơ, ...) followed by a combining tone mark; Python has the codec and
    the result is normalised to NFC here.

The byte tables were checked against several public converters and font
tables (Unikey's VnConv, xvnkb, the X-TrueType TCVN table and published
comparison charts), which agree on every letter.

Decisions taken here
--------------------
* **TCVN3 capitals with a tone** are *encoded* with the lowercase code point,
  as Unikey does and as an H font expects (the case is lost in the bytes).
  *Decoding* restores the case where the text makes it clear
  (``restore_case=True``): a value with no lowercase ASCII letter and at
  least one word of two or more ASCII capitals is all capitals
  (``"TH\\xde TR\\xcaN"`` → ``"THỊ TRẤN"``); in a value whose words that
  start with an ASCII letter all start with a capital, a word that starts
  with a toned vowel gets a capital (``"\\xf8ng Ho\\xb5"`` → ``"Ứng Hoà"``).
  Values such as ``"XÃ BÁ"`` stay ambiguous and decode as ``"Xã Bá"``.
* Bytes 0x80-0x9F hold the Windows-1252 punctuation (’ “ ” – — …) in
  both font encodings, as the Windows fonts have them and Unikey reads them.
  The TCVN 5712 VN1 capitals that sit in bytes VN3 leaves unused above
  0xA0 (0xC4 = Ấ, 0xDB = Ồ, ...) are decoded but never written.
* An 8-bit value that no candidate reads as Vietnamese is reported as
  ``"latin-1"``: leave it as GDAL read it.

Examples
--------
>>> from geoagri.io.legacy_encoding import decode_legacy, encode_legacy
>>> encode_legacy("Đồng Tháp", "tcvn3")
b'\\xa7\\xe5ng Th\\xb8p'
>>> encode_legacy("Đồng Tháp", "vni")
b'\\xd1o\\xe0ng Tha\\xf9p'
>>> decode_legacy(b'\\xd1o\\xe0ng Tha\\xf9p', "vni")
'Đồng Tháp'
"""

from __future__ import annotations

import codecs
import functools
import logging
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geoagri.errors import GeoagriError

__all__ = [
    "LEGACY_ENCODINGS",
    "MIN_SCORE",
    "VIETNAMESE_LETTERS",
    "EncodingGuess",
    "decode_legacy",
    "detect_legacy_encoding",
    "encode_legacy",
    "fix_text_columns",
    "guess_legacy_encoding",
    "normalize_encoding_name",
    "sniff_dbf_encoding",
]

logger = logging.getLogger("geoagri")

#: The legacy Vietnamese encodings this module detects, in tie-break order.
LEGACY_ENCODINGS: tuple[str, ...] = ("tcvn3", "vni", "cp1258")

#: A detected encoding scoring below this share of Vietnamese-looking words is
#: not trusted: :func:`guess_legacy_encoding` answers ``"latin-1"`` instead.
MIN_SCORE = 0.3

# --------------------------------------------------------------------------
# Letters
# --------------------------------------------------------------------------

#: Combining tone marks in the order used by every table below:
#: ngang (none), sắc (acute), huyền (grave), hỏi (hook), ngã (tilde), nặng (dot).
_TONE_MARKS = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
_TONE_INDEX = {mark: i for i, mark in enumerate(_TONE_MARKS) if mark}

#: The twelve vowels of the alphabet, lowercase.
_VOWELS = "aăâeêioôơuưy"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _all_letters() -> tuple[str, ...]:
    letters = []
    for vowel in _VOWELS:
        for case_vowel in (vowel, vowel.upper()):
            for mark in _TONE_MARKS:
                letter = _nfc(case_vowel + mark)
                if not letter.isascii():
                    letters.append(letter)
    return (*letters, "đ", "Đ")


#: Every letter of the Vietnamese alphabet outside ASCII, lowercase and
#: uppercase (132 vowels with a diacritic or a tone, and đ, Đ): 134 letters.
VIETNAMESE_LETTERS: tuple[str, ...] = _all_letters()


def _split_letter(letter: str) -> tuple[str, str, int]:
    """Return (vowel without tone, ASCII base, tone index) of a vowel letter."""
    decomposed = unicodedata.normalize("NFD", letter)
    tone = 0
    kept = []
    for ch in decomposed:
        if ch in _TONE_INDEX:
            tone = _TONE_INDEX[ch]
        else:
            kept.append(ch)
    return _nfc("".join(kept)), decomposed[0], tone


# --------------------------------------------------------------------------
# TCVN3 table
# --------------------------------------------------------------------------

#: TCVN3 (VN3) byte of each lowercase vowel; columns in tone order
#: (none, sắc, huyền, hỏi, ngã, nặng).
_TCVN3_VOWEL_ROWS = {
    "a": "61 B8 B5 B6 B7 B9",
    "ă": "A8 BE BB BC BD C6",
    "â": "A9 CA C7 C8 C9 CB",
    "e": "65 D0 CC CE CF D1",
    "ê": "AA D5 D2 D3 D4 D6",
    "i": "69 DD D7 D8 DC DE",
    "o": "6F E3 DF E1 E2 E4",
    "ô": "AB E8 E5 E6 E7 E9",
    "ơ": "AC ED EA EB EC EE",
    "u": "75 F3 EF F1 F2 F4",
    "ư": "AD F8 F5 F6 F7 F9",
    "y": "79 FD FA FB FC FE",
}

#: The other TCVN3 letters: đ and the seven capitals VN3 has, and NBSP.
_TCVN3_OTHERS = {
    "đ": 0xAE,
    "Ă": 0xA1,
    "Â": 0xA2,
    "Ê": 0xA3,
    "Ô": 0xA4,
    "Ơ": 0xA5,
    "Ư": 0xA6,
    "Đ": 0xA7,
    "\u00a0": 0xA0,
}

#: TCVN 5712 VN1 capitals (and its combining tones, 0xB0-0xB4) in bytes VN3
#: leaves unused above 0xA0; decoded, never encoded.
_TCVN_VN1_EXTRAS = {
    0xAF: "Ằ",
    0xB0: "\u0300",
    0xB1: "\u0309",
    0xB2: "\u0303",
    0xB3: "\u0301",
    0xB4: "\u0323",
    0xBA: "Ẳ",
    0xBF: "Ẵ",
    0xC0: "Ắ",
    0xC1: "Ầ",
    0xC2: "Ẩ",
    0xC3: "Ẫ",
    0xC4: "Ấ",
    0xC5: "Ề",
    0xCD: "Ể",
    0xD9: "Ễ",
    0xDA: "Ế",
    0xDB: "Ồ",
    0xE0: "Ổ",
    0xF0: "Ỗ",
    0xFF: "Ố",
}


def _punctuation_byte(byte: int) -> str:
    """The Windows-1252 character of a byte 0x80-0x9F (itself if undefined)."""
    return bytes([byte]).decode("cp1252", errors="ignore") or chr(byte)


#: Windows-1252 punctuation in 0x80-0x9F, shared by the TCVN3 and VNI fonts.
_PUNCTUATION = {
    _punctuation_byte(b): b for b in range(0x80, 0xA0) if _punctuation_byte(b) != chr(b)
}


def _build_tcvn3() -> tuple[dict[str, bytes], tuple[str, ...]]:
    encode: dict[str, bytes] = {}
    decode = [chr(b) for b in range(0x80)] + [_punctuation_byte(b) for b in range(0x80, 0xA0)]
    decode += [""] * 0x60
    for vowel, row in _TCVN3_VOWEL_ROWS.items():
        for mark, code in zip(_TONE_MARKS, row.split(), strict=True):
            byte = int(code, 16)
            lower = _nfc(vowel + mark)
            encode[lower] = bytes([byte])
            decode[byte] = lower
            upper = lower.upper()
            if mark:  # no VN3 capital: written with the lowercase code point
                encode[upper] = bytes([byte])
    for letter, byte in _TCVN3_OTHERS.items():
        encode[letter] = bytes([byte])
        decode[byte] = letter
    for byte, text in _TCVN_VN1_EXTRAS.items():
        decode[byte] = text
    # plain ASCII capitals are themselves
    for letter in "AEIOUY":
        encode[letter] = letter.encode()
    return encode, tuple(decode)


_TCVN3_ENCODE, _TCVN3_DECODE = _build_tcvn3()

# --------------------------------------------------------------------------
# VNI-Windows table
# --------------------------------------------------------------------------

#: VNI tone byte after a plain or horned vowel: sắc, huyền, hỏi, ngã, nặng.
_VNI_TONE = {"lower": "F9 F8 FB F5 EF", "upper": "D9 D8 DB D5 CF"}
#: VNI byte after a, e, o for a circumflex, in tone order (none first).
_VNI_CIRCUMFLEX = {"lower": "E2 E1 E0 E5 E3 E4", "upper": "C2 C1 C0 C5 C3 C4"}
#: VNI byte after a for a breve, in tone order (none first).
_VNI_BREVE = {"lower": "EA E9 E8 FA FC EB", "upper": "CA C9 C8 DA DC CB"}
#: VNI letters written as one byte.
_VNI_SINGLE = {
    "đ": 0xF1,
    "Đ": 0xD1,
    "ơ": 0xF4,
    "Ơ": 0xD4,
    "ư": 0xF6,
    "Ư": 0xD6,
    "í": 0xED,
    "ì": 0xEC,
    "ỉ": 0xE6,
    "ĩ": 0xF3,
    "ị": 0xF2,
    "Í": 0xCD,
    "Ì": 0xCC,
    "Ỉ": 0xC6,
    "Ĩ": 0xD3,
    "Ị": 0xD2,
    "ỵ": 0xEE,
    "Ỵ": 0xCE,
}


def _vni_bytes(row: dict[str, str], case: str) -> list[int]:
    return [int(code, 16) for code in row[case].split()]


def _build_vni() -> tuple[dict[str, bytes], dict[bytes, str]]:
    encode: dict[str, bytes] = {}
    for letter in VIETNAMESE_LETTERS:
        if letter in _VNI_SINGLE:
            encode[letter] = bytes([_VNI_SINGLE[letter]])
            continue
        case = "upper" if letter.isupper() else "lower"
        toneless, base, tone = _split_letter(letter)
        tone_byte = [_vni_bytes(_VNI_TONE, case)[tone - 1]] if tone else []
        if toneless in _VNI_SINGLE:  # ơ, ư with a tone
            encode[letter] = bytes([_VNI_SINGLE[toneless], *tone_byte])
        elif toneless.lower() in "âêô":
            encode[letter] = bytes([ord(base), _vni_bytes(_VNI_CIRCUMFLEX, case)[tone]])
        elif toneless.lower() == "ă":
            encode[letter] = bytes([ord(base), _vni_bytes(_VNI_BREVE, case)[tone]])
        else:
            encode[letter] = bytes([ord(base), *tone_byte])
    decode = {code: letter for letter, code in encode.items()}
    # lenient readings: a diacritic byte of the other case after a base, and a
    # toned i or y written as base + tone byte
    swap: dict[int, int] = {}
    for row in (_VNI_TONE, _VNI_CIRCUMFLEX, _VNI_BREVE):
        lower, upper = _vni_bytes(row, "lower"), _vni_bytes(row, "upper")
        swap.update(zip(lower, upper, strict=True))
        swap.update(zip(upper, lower, strict=True))
    for letter, code in encode.items():
        if len(code) == 2:
            decode.setdefault(bytes([code[0], swap[code[1]]]), letter)
    for base in "iIyY":
        for tone in range(1, 6):
            letter = _nfc(base + _TONE_MARKS[tone])
            for case in ("lower", "upper"):
                decode.setdefault(bytes([ord(base), _vni_bytes(_VNI_TONE, case)[tone - 1]]), letter)
    return encode, decode


_VNI_ENCODE, _VNI_DECODE = _build_vni()

# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------

_ALIASES = {
    "tcvn3": "tcvn3",
    "tcvn": "tcvn3",
    "abc": "tcvn3",
    "vn3": "tcvn3",
    "tcvn5712": "tcvn3",
    "vscii": "tcvn3",
    "vnitimes": "vni",
    "vni": "vni",
    "vniwindows": "vni",
    "vniwin": "vni",
    "cp1258": "cp1258",
    "1258": "cp1258",
    "windows1258": "cp1258",
    "ansi1258": "cp1258",
    "wincp1258": "cp1258",
    "utf8": "utf-8",
    "65001": "utf-8",
    "cp65001": "utf-8",
    "ascii": "ascii",
    "usascii": "ascii",
    "latin1": "latin-1",
    "iso88591": "latin-1",
    "88591": "latin-1",
    "l1": "latin-1",
    "28591": "latin-1",
}


def normalize_encoding_name(name: str) -> str:
    """Return the canonical name of a text encoding.

    Legacy Vietnamese names map to ``"tcvn3"``, ``"vni"`` and ``"cp1258"``;
    UTF-8, ASCII and Latin-1 to ``"utf-8"``, ``"ascii"`` and ``"latin-1"``;
    bare Windows code-page numbers as written in ``.cpg`` files to ``cpNNNN``;
    any other name Python knows to Python's name for it.

    Parameters
    ----------
    name : str
        An encoding name, e.g. ``"UTF-8"``, ``"1258"``, ``"ABC"``,
        ``"VNI-Windows"``, ``"ANSI 1252"``.

    Returns
    -------
    str
        The canonical name.

    Raises
    ------
    GeoagriError
        If the name is not an encoding this module or Python knows.

    Examples
    --------
    >>> normalize_encoding_name("UTF-8"), normalize_encoding_name("1258")
    ('utf-8', 'cp1258')
    >>> normalize_encoding_name("ABC"), normalize_encoding_name("VNI-Windows")
    ('tcvn3', 'vni')
    """
    if not isinstance(name, str) or not name.strip():
        raise GeoagriError(f"encoding name must be a non-empty string, got {name!r}")
    key = re.sub(r"[^0-9a-z]", "", name.strip().lower())
    if key in _ALIASES:
        return _ALIASES[key]
    number = re.fullmatch(r"(?:ansi|cp|windows|ldid)?(\d{3,5})", key)
    candidate = f"cp{number.group(1)}" if number else name.strip()
    try:
        return codecs.lookup(candidate).name
    except LookupError:
        raise GeoagriError(
            f"unknown text encoding {name!r}; use one of 'tcvn3', 'vni', 'cp1258', "
            "'utf-8', 'latin-1' or another name Python's codecs know"
        ) from None


# --------------------------------------------------------------------------
# Decoding and encoding
# --------------------------------------------------------------------------


def _decode_tcvn3(data: bytes) -> str:
    return _nfc("".join(_TCVN3_DECODE[b] for b in data))


def _decode_vni(data: bytes) -> tuple[str, int]:
    """Decode VNI bytes; return the text and the number of unreadable bytes."""
    out = []
    bad = 0
    i = 0
    n = len(data)
    while i < n:
        pair = data[i : i + 2]
        if len(pair) == 2 and pair in _VNI_DECODE:
            out.append(_VNI_DECODE[pair])
            i += 2
            continue
        one = data[i : i + 1]
        if one in _VNI_DECODE:
            out.append(_VNI_DECODE[one])
        elif 0x80 <= data[i] < 0xA0:
            out.append(_punctuation_byte(data[i]))
        else:
            out.append(one.decode("latin-1"))
            bad += data[i] >= 0x80
        i += 1
    return _nfc("".join(out)), bad


_WORD = re.compile(r"[^\W\d_]+")


def _restore_tcvn3_case(text: str) -> str:
    """Give back the capitals a TCVN3 value lost (see the module notes)."""
    words = _WORD.findall(text)
    if not words or text.islower():
        return text
    ascii_upper = [sum(c.isascii() and c.isupper() for c in w) for w in words]
    has_ascii_lower = any(c.isascii() and c.islower() for c in text)
    if not has_ascii_lower and max(ascii_upper) >= 2:
        return text.upper()
    ascii_initial = [w for w in words if w[0].isascii()]
    if ascii_initial and all(w[0].isupper() for w in ascii_initial):

        def capitalise(match: re.Match[str]) -> str:
            word = match.group(0)
            first = word[0]
            if not first.isascii() and first.islower() and _split_letter(first)[2]:
                return first.upper() + word[1:]
            return word

        return _WORD.sub(capitalise, text)
    return text


def decode_legacy(data: bytes, encoding: str, *, restore_case: bool = True) -> str:
    """Decode bytes in a Vietnamese legacy encoding (or any codec) to NFC text.

    Parameters
    ----------
    data : bytes
        The raw bytes, e.g. one DBF field value.
    encoding : str
        ``"tcvn3"``, ``"vni"``, ``"cp1258"``, ``"utf-8"``, ``"latin-1"``,
        ``"ascii"`` or any name :func:`normalize_encoding_name` accepts.
    restore_case : bool, default True
        TCVN3 only: give back the capitals that TCVN3 cannot store (see the
        module notes).  With False every toned vowel decodes lowercase.

    Returns
    -------
    str
        The text, normalised to Unicode NFC.  TCVN3 and VNI decode every
        byte (a VNI diacritic byte with no letter before it is kept as its
        Latin-1 character).

    Raises
    ------
    GeoagriError
        If the encoding is unknown, or the bytes are not valid in a strict
        codec such as UTF-8 (the message gives the byte position).

    Examples
    --------
    >>> decode_legacy(b"X\\xb7 Tuy\\xaan B\\xd7nh T\\xa9y", "tcvn3")
    'Xã Tuyên Bình Tây'
    >>> decode_legacy(b"TH\\xde TR\\xcaN V\\xdcNH H\\xa6NG", "tcvn3")
    'THỊ TRẤN VĨNH HƯNG'
    >>> decode_legacy(b"Vi\\xea\\xccn", "cp1258")
    'Viền'
    """
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise GeoagriError(
            f"decode_legacy needs bytes, got {type(data).__name__}; for text read as "
            "Latin-1 pass value.encode('latin-1')"
        )
    name = normalize_encoding_name(encoding)
    if name == "tcvn3":
        text = _decode_tcvn3(data)
        return _restore_tcvn3_case(text) if restore_case else text
    if name == "vni":
        return _decode_vni(data)[0]
    try:
        return _nfc(data.decode(name))
    except UnicodeDecodeError as exc:
        raise GeoagriError(
            f"bytes are not valid {name}: byte {data[exc.start : exc.start + 1]!r} at "
            f"position {exc.start} of {data[:40]!r}; detect the encoding with "
            "detect_legacy_encoding() or pass another encoding"
        ) from None


def _encode_cp1258_char(ch: str) -> bytes:
    try:
        return ch.encode("cp1258")
    except UnicodeEncodeError:
        pass
    toneless, _, tone = _split_letter(ch)
    try:
        return toneless.encode("cp1258") + _TONE_MARKS[tone].encode("cp1258")
    except UnicodeEncodeError:
        raise ValueError(ch) from None


def encode_legacy(text: str, encoding: str) -> bytes:
    """Encode text in a Vietnamese legacy encoding (or any codec).

    The inverse of :func:`decode_legacy`, used to build legacy files.  The
    text is normalised to NFC first.  In TCVN3 a capital with a tone mark is
    written with its lowercase byte (VN3 has no such capitals; see the module
    notes).  Windows-1258 writes a toned vowel as its base letter and a
    combining tone byte unless the code page has the letter precomposed.

    Parameters
    ----------
    text : str
        The text.
    encoding : str
        ``"tcvn3"``, ``"vni"``, ``"cp1258"`` or any name
        :func:`normalize_encoding_name` accepts.

    Returns
    -------
    bytes
        The encoded bytes.

    Raises
    ------
    GeoagriError
        If a character cannot be written in the encoding; the message names
        the character, its code point and its position.

    Examples
    --------
    >>> encode_legacy("đ", "tcvn3"), encode_legacy("đ", "vni")
    (b'\\xae', b'\\xf1')
    >>> encode_legacy("Ế", "vni")
    b'E\\xc1'
    >>> encode_legacy("Viền", "cp1258")
    b'Vi\\xea\\xccn'
    """
    if not isinstance(text, str):
        raise GeoagriError(f"encode_legacy needs a str, got {type(text).__name__}")
    name = normalize_encoding_name(encoding)
    text = _nfc(text)
    out = bytearray()
    for pos, ch in enumerate(text):
        try:
            if name in ("tcvn3", "vni") and (ch.isascii() or ch in _PUNCTUATION):
                out += ch.encode("ascii") if ch.isascii() else bytes([_PUNCTUATION[ch]])
            elif name == "tcvn3":
                out += _TCVN3_ENCODE[ch]
            elif name == "vni":
                out += _VNI_ENCODE[ch]
            elif name == "cp1258":
                out += _encode_cp1258_char(ch)
            else:
                out += ch.encode(name)
        except (KeyError, ValueError, UnicodeEncodeError):
            raise GeoagriError(
                f"character {ch!r} (U+{ord(ch):04X}) at position {pos} of {text!r} "
                f"cannot be encoded in {name}; remove or replace it, or write UTF-8"
            ) from None
    return bytes(out)


# --------------------------------------------------------------------------
# Vietnamese syllables
# --------------------------------------------------------------------------

#: Consonant letters; an onset is up to three of them (ng, ngh, tr, and the
#: clusters of minority-language names: Krông, Djrăng), or gi / qu.
_CONSONANTS = frozenset("bcdđfghjklmnpqrstvwxz")
#: Vowel nuclei that may take a final consonant, with the positions (in the
#: nucleus) where the tone mark may sit without and with a final consonant.
#: "hòa"/"hoà", "thủy"/"thuỷ": both the old and the new placement are valid.
_OPEN_NUCLEI: dict[str, tuple[frozenset[int], frozenset[int]]] = {
    **{v: (frozenset({0}), frozenset({0})) for v in "aăâeêioôơuưy"},
    **{v: (frozenset(), frozenset({1})) for v in "iê yê uô ươ oă uâ".split()},
    **{v: (frozenset({0, 1}), frozenset({1})) for v in "oa oe uy".split()},
    "uê": (frozenset({1}), frozenset({1})),
    "oo": (frozenset(), frozenset({1})),
    "uyê": (frozenset(), frozenset({2})),
}
#: Nuclei ending in a glide (no final consonant) and the tone position.
_CLOSED_NUCLEI: dict[str, int] = {
    **dict.fromkeys("ai ao au ay âu ây eo êu ia iu oi ôi ơi ua ui ưa ưi ưu".split(), 0),
    **dict.fromkeys("uơ iêu yêu oai oay oao oeo uôi ươi ươu uya uyu uây".split(), 1),
}
_NUCLEI = sorted([*_OPEN_NUCLEI, *_CLOSED_NUCLEI], key=len, reverse=True)
_CODAS = frozenset("ng nh ch c k m n p t".split())
_STOP_CODAS = frozenset("c ch k p t".split())
#: Nuclei that need a final consonant (ân, never â alone; ă alone only in
#: minority-language names such as Ia Bă, Đăk Yă).
_NEED_CODA = frozenset({"â"})
#: Nuclei before nh / ch, and those never before ng / c.
_BEFORE_NH = frozenset("a ê i y oa uê uy".split())
_NOT_BEFORE_NG = frozenset("i y ê uy uê".split())
#: Rough natural-log frequency (per mille) of each lowercase non-ASCII letter
#: in Vietnamese names and text, in four classes (about 80, 25, 5 and 0.5 per
#: mille of such letters); breaks ties between decodings that are all valid
#: syllables (VNI "Hưng" read as TCVN3 is "Hửng").
_LETTER_CLASSES = (
    (4.4, "đưâàơêạôá"),
    (3.2, "ảúìòĩệồộậớăịờếợắọềứùốầủấóãởữụí"),
    (1.6, "ỹỳũẩễằổýựửèéỏặỗõỉẫẹểừ"),
    (-0.7, "ỷẻỵẳỡẽẵ"),
)
_LETTER_LOGFREQ = {c: weight for weight, letters in _LETTER_CLASSES for c in letters}
#: Weight of a non-ASCII character that is not a Vietnamese letter.
_NON_LETTER_LOGFREQ = -2.0


def _rhyme_ok(nucleus: str, coda: str, tone: int, tone_at: int | None) -> bool:
    """Check a nucleus + final consonant, the tone, and where the tone sits."""
    if nucleus in _CLOSED_NUCLEI:
        return not coda and (tone_at is None or tone_at == _CLOSED_NUCLEI[nucleus])
    without, with_coda = _OPEN_NUCLEI[nucleus]
    if not coda:
        if nucleus in _NEED_CODA or (not without and len(nucleus) > 1):
            return False
        return tone_at is None or tone_at in without
    if coda not in _CODAS:
        return False
    if coda in ("nh", "ch") and nucleus not in _BEFORE_NH:
        return False
    if coda in ("ng", "c", "k") and nucleus in _NOT_BEFORE_NG:
        return False
    if coda in _STOP_CODAS and coda != "k" and tone not in (1, 5):
        return False
    return tone_at is None or tone_at in with_coda


@functools.lru_cache(maxsize=65536)
def _is_syllable(word: str) -> bool:
    """True if ``word`` (one word of letters) is a plausible Vietnamese syllable.

    A syllable is an optional onset, a vowel nucleus and an optional final
    consonant allowed after that nucleus, with at most one tone mark, on the
    vowel that carries it, and only sắc or nặng before c, ch, p, t.
    """
    base_letters = []
    tone, tone_pos = 0, None
    for pos, letter in enumerate(_nfc(word.lower())):
        toneless, _, letter_tone = _split_letter(letter)
        if letter_tone:
            if tone_pos is not None:
                return False
            tone, tone_pos = letter_tone, pos
        base_letters.append(toneless)
    base = "".join(base_letters)
    if len(base) != len(base_letters):  # a stray combining mark
        return False
    consonants = 0
    while consonants < min(3, len(base)) and base[consonants] in _CONSONANTS:
        consonants += 1
    onsets = [base[:n] for n in range(consonants + 1)]
    onsets += [o for o in ("gi", "qu") if base.startswith(o)]
    for onset in onsets:
        rest = base[len(onset) :]
        if onset == "qu" and rest[:1] in ("o", "u"):  # no "quoa", "quu"
            continue
        for nucleus in _NUCLEI:
            if not rest.startswith(nucleus):
                continue
            tone_at = None if tone_pos is None else tone_pos - len(onset)
            if tone_at is not None and not 0 <= tone_at < len(nucleus):
                continue
            if _rhyme_ok(nucleus, rest[len(nucleus) :], tone, tone_at):
                return True
    return False


# --------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodingGuess:
    """The result of :func:`guess_legacy_encoding`.

    Attributes
    ----------
    encoding : str
        ``"utf-8"``, ``"tcvn3"``, ``"vni"``, ``"cp1258"``, ``"ascii"`` (no
        byte above 0x7F) or ``"latin-1"`` (8-bit text that no Vietnamese
        encoding reads well: keep it as read).
    score : float
        Share (0-1) of the words with a non-ASCII byte that decode to a
        valid Vietnamese syllable in ``encoding`` (for ``"latin-1"``: the
        best legacy score, below :data:`MIN_SCORE`).  1.0 for ``"ascii"``.
    runner_up : str or None
        The next best candidate, None when there was no contest.
    runner_up_score : float
        Its score (0.0 when there is no runner-up).
    n_words : int
        Number of distinct words with a non-ASCII byte that were scored.
    """

    encoding: str
    score: float
    runner_up: str | None = None
    runner_up_score: float = 0.0
    n_words: int = 0


#: A word for detection: ASCII letters and bytes above NBSP (0x80-0x9F is
#: punctuation in all three legacy encodings).
_TOKEN = re.compile(rb"[A-Za-z\xa1-\xff]+")


def _decode_for_scoring(token: bytes, encoding: str) -> tuple[str, int]:
    if encoding == "tcvn3":
        return _decode_tcvn3(token), 0
    if encoding == "vni":
        return _decode_vni(token)
    text = _nfc(token.decode(encoding, errors="replace"))
    return text, text.count("\ufffd")


_LETTERS = frozenset(VIETNAMESE_LETTERS) | frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
#: Credit for a word that is only Vietnamese letters but not one syllable
#: (polysyllabic minority-language words such as Pơnan).
_LETTERS_CREDIT = 0.25


def _token_scores(token: bytes, encoding: str) -> tuple[float, float]:
    """Return (credit 0-1 for looking Vietnamese, mean log-frequency of its letters)."""
    text, bad = _decode_for_scoring(token, encoding)
    if bad or not set(text) <= _LETTERS:
        credit = 0.0
    else:
        credit = 1.0 if _is_syllable(text) else _LETTERS_CREDIT
    special = [c for c in text.lower() if not c.isascii()]
    weights = [_LETTER_LOGFREQ.get(c, _NON_LETTER_LOGFREQ) for c in special]
    return credit, sum(weights) / len(weights) if weights else _NON_LETTER_LOGFREQ


def _as_bytes(sample: object) -> bytes | None:
    if sample is None or (isinstance(sample, float) and math.isnan(sample)):
        return None
    if isinstance(sample, bytes | bytearray | memoryview):
        return bytes(sample)
    raise GeoagriError(
        f"samples must be bytes, got {type(sample).__name__} {sample!r}; for text that "
        "GDAL read as Latin-1 pass value.encode('latin-1')"
    )


def guess_legacy_encoding(samples: Iterable[bytes]) -> EncodingGuess:
    """Guess the encoding of byte strings, with a score.

    Rules, in order: no byte above 0x7F → ``"ascii"``; every sample decodes
    as strict UTF-8 and some has a multi-byte character → ``"utf-8"``; the
    only bytes above 0x7F are Windows punctuation (0x80-0x9F, ’ “ ”), which
    all three legacy encodings read alike → ``"cp1258"``;
    otherwise each of TCVN3, VNI and Windows-1258 decodes every distinct
    word that has a non-ASCII byte, and the score is the share of words
    that come out as a valid Vietnamese syllable (onset + vowel nucleus +
    final consonant allowed after it, at most one tone mark, on the right
    vowel, only sắc or nặng before c, ch, p, t), a word made only of
    Vietnamese letters but not one syllable counting a quarter.  Ties go to
    the encoding whose decoded letters are more frequent in Vietnamese (ư
    rather than ử), then to the order tcvn3, vni, cp1258.  A best score below
    :data:`MIN_SCORE` gives ``"latin-1"``.

    Parameters
    ----------
    samples : iterable of bytes
        Raw values, e.g. every text value of a DBF; None and NaN are skipped.

    Returns
    -------
    EncodingGuess
        The encoding, its score and the runner-up.

    Raises
    ------
    GeoagriError
        If a sample is not bytes (a str must be encoded first).

    Examples
    --------
    >>> names = ["Xã Tuyên Bình Tây", "Thị trấn Vĩnh Hưng", "Hưng Điền A"]
    >>> g = guess_legacy_encoding(encode_legacy(n, "vni") for n in names)
    >>> g.encoding, g.score, g.runner_up, g.n_words
    ('vni', 1.0, 'tcvn3', 9)
    """
    raw = [b for b in (_as_bytes(s) for s in samples) if b is not None]
    if all(b.isascii() for b in raw):
        return EncodingGuess("ascii", 1.0)
    try:
        texts = [b.decode("utf-8") for b in raw]
    except UnicodeDecodeError:
        texts = None
    if texts is not None:
        words = {w for t in texts for w in _WORD.findall(_nfc(t)) if not w.isascii()}
        valid = sum(_is_syllable(w) for w in words)
        return EncodingGuess("utf-8", valid / max(len(words), 1), n_words=len(words))
    tokens = {tok for b in raw for tok in _TOKEN.findall(b) if not tok.isascii()}
    n_words = len(tokens)
    if not n_words:  # only Windows punctuation (0x80-0x9F): read alike by all
        return EncodingGuess("cp1258", 1.0)
    ranked = []
    for order, enc in enumerate(LEGACY_ENCODINGS):
        credit = likelihood = 0.0
        for tok in tokens:
            tok_credit, tok_likelihood = _token_scores(tok, enc)
            credit += tok_credit
            likelihood += tok_likelihood
        ranked.append((credit / n_words, likelihood / n_words, -order, enc))
    ranked.sort(reverse=True)
    best, second = ranked[0], ranked[1]
    logger.debug("legacy encoding scores: %s", {r[3]: round(r[0], 3) for r in ranked})
    encoding = best[3] if best[0] >= MIN_SCORE else "latin-1"
    return EncodingGuess(encoding, best[0], second[3], second[0], n_words)


def detect_legacy_encoding(samples: Iterable[bytes]) -> str:
    """Detect the encoding of byte strings: the name only.

    See :func:`guess_legacy_encoding` for the rules and the score.

    Parameters
    ----------
    samples : iterable of bytes
        Raw values, e.g. a column of commune names; None and NaN are skipped.

    Returns
    -------
    str
        ``"utf-8"``, ``"tcvn3"``, ``"vni"``, ``"cp1258"``, ``"ascii"`` or
        ``"latin-1"`` (8-bit but not Vietnamese).

    Raises
    ------
    GeoagriError
        If a sample is not bytes.

    Examples
    --------
    >>> detect_legacy_encoding([b"\\xa7\\xe5ng Th\\xb8p", b"H\\xadng \\xa7i\\xd2n A"])
    'tcvn3'
    >>> detect_legacy_encoding(["Đồng Tháp".encode("utf-8")])
    'utf-8'
    >>> detect_legacy_encoding([b"Ea Kar", None])
    'ascii'
    """
    return guess_legacy_encoding(samples).encoding


# --------------------------------------------------------------------------
# DataFrames and DBF files
# --------------------------------------------------------------------------


def _is_text_column(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series.dtype) or isinstance(series.dtype, pd.StringDtype)


def _raw_value(value: object) -> bytes | None:
    """The bytes GDAL read for a value read as Latin-1 (None: leave it)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:  # already real Unicode text
            return None
    return None


def fix_text_columns(df: pd.DataFrame, *, encoding: str | None = None) -> tuple[pd.DataFrame, str]:
    """Decode text columns that GDAL read as Latin-1 from a legacy encoding.

    Read an old shapefile with ``encoding="latin1"`` so that every DBF byte
    becomes one character (GDAL spells it ``"latin1"`` or ``"ISO-8859-1"``
    and rejects ``"latin-1"``), then call this: the raw bytes of all text columns
    together are given to :func:`detect_legacy_encoding` (unless
    ``encoding`` is given) and every value is decoded with
    :func:`decode_legacy`.

    Parameters
    ----------
    df : pandas.DataFrame or geopandas.GeoDataFrame
        Table as read; not modified.
    encoding : str, optional
        Encoding to use instead of detecting one.

    Returns
    -------
    fixed : pandas.DataFrame
        A copy of ``df`` (same class, index, columns and dtypes) whose
        text values are decoded to NFC.  Non-text columns, the geometry,
        column names, None/NaN and values that are not Latin-1 text
        (already real Unicode, or not strings) are unchanged.
    encoding : str
        The encoding used: the given one, or the detected one
        (``"ascii"`` or ``"latin-1"`` when nothing needed decoding).

    Raises
    ------
    GeoagriError
        If ``encoding`` is unknown, or a value is not valid in it (the
        message names the column and row).

    Examples
    --------
    >>> import pandas as pd
    >>> raw = [encode_legacy(n, "tcvn3").decode("latin-1")
    ...        for n in ["Xã Tuyên Bình Tây", "Thị trấn Vĩnh Hưng"]]
    >>> df = pd.DataFrame({"name": [*raw, None], "area_ha": [1250.5, 310.0, 42.0]})
    >>> fixed, enc = fix_text_columns(df)
    >>> enc, fixed["name"].tolist()[:2], bool(fixed["name"].isna().iloc[2])
    ('tcvn3', ['Xã Tuyên Bình Tây', 'Thị trấn Vĩnh Hưng'], True)
    """
    text_columns = [c for c in df.columns if _is_text_column(df[c])]
    if encoding is None:
        samples = (
            raw for c in text_columns for raw in map(_raw_value, df[c].tolist()) if raw is not None
        )
        encoding = detect_legacy_encoding(samples)
        logger.info("text columns %s detected as %s", text_columns, encoding)
    else:
        encoding = normalize_encoding_name(encoding)
    fixed = df.copy()
    if encoding in ("ascii", "latin-1"):
        return fixed, encoding
    for column in text_columns:
        series = df[column]
        values = []
        for label, value in series.items():
            raw = _raw_value(value)
            if raw is None:
                values.append(value)
                continue
            try:
                values.append(decode_legacy(raw, encoding))
            except GeoagriError as exc:
                raise GeoagriError(f"column '{column}', row {label!r}: {exc}") from None
        fixed[column] = pd.Series(values, index=series.index, dtype=series.dtype, name=column)
    return fixed, encoding


#: DBF language-driver ids (byte 29) and their code pages, after the ESRI
#: table.  0x57 ("ANSI": the writer's system code page) says nothing and is
#: read as undeclared.
_LDID = {
    0x01: "cp437",
    0x02: "cp850",
    0x03: "cp1252",
    0x04: "mac_roman",
    0x13: "cp932",
    0x26: "cp866",
    0x4D: "cp936",
    0x4E: "cp949",
    0x4F: "cp950",
    0x50: "cp874",
    0x58: "cp1252",
    0x59: "cp1252",
    0x64: "cp852",
    0x65: "cp866",
    0x66: "cp865",
    0x67: "cp861",
    0x6A: "cp737",
    0x6B: "cp857",
    0x78: "cp950",
    0x79: "cp949",
    0x7A: "cp936",
    0x7B: "cp932",
    0x7C: "cp874",
    0x86: "cp737",
    0x87: "cp852",
    0x88: "cp857",
    0xC8: "cp1250",
    0xC9: "cp1251",
    0xCA: "cp1254",
    0xCB: "cp1253",
    0xCC: "cp1257",
}


def _sibling(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def sniff_dbf_encoding(path: str | Path) -> str | None:
    """Return the text encoding a shapefile declares, or None.

    The ``.cpg`` file next to the DBF wins (its label normalised by
    :func:`normalize_encoding_name`: ``"UTF-8"`` → ``"utf-8"``, ``"1258"``
    → ``"cp1258"``); otherwise the DBF language-driver byte (offset 29) is
    looked up.  TCVN3 and VNI files almost never declare themselves: None
    means "detect it".

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.shp``, the ``.dbf``, or the path without a suffix.

    Returns
    -------
    str or None
        The declared encoding; None when the ``.cpg`` is absent (or its label
        unknown, which is logged) and the language-driver byte is 0, 0x57
        ("ANSI") or unknown.

    Raises
    ------
    GeoagriError
        If there is no ``.dbf`` next to ``path``, or it is shorter than a
        DBF header.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "communes.dbf").write_bytes(bytes(29) + b"\\x00" + bytes(2))
    >>> sniff_dbf_encoding(folder / "communes.shp") is None
    True
    >>> _ = (folder / "communes.cpg").write_text("1258")
    >>> sniff_dbf_encoding(folder / "communes.shp")
    'cp1258'
    """
    path = Path(path)
    base = (
        path
        if path.suffix.lower() in (".shp", ".dbf", ".cpg", ".shx", ".prj")
        else Path(f"{path}.shp")
    )
    dbf = _sibling(base, ".dbf")
    if dbf is None:
        raise GeoagriError(
            f"no .dbf file next to {str(path)!r}; give the path of a shapefile (.shp) "
            "or of its .dbf"
        )
    cpg = _sibling(base, ".cpg")
    if cpg is not None:
        label = cpg.read_bytes().decode("ascii", errors="ignore").strip().splitlines()
        if label and label[0].strip():
            try:
                return normalize_encoding_name(label[0])
            except GeoagriError:
                logger.warning("%s: unknown encoding label %r ignored", cpg, label[0])
    with dbf.open("rb") as handle:
        header = handle.read(32)
    if len(header) < 30:
        raise GeoagriError(
            f"{str(dbf)!r} is too short ({len(header)} bytes) to be a DBF file; "
            "the shapefile is damaged"
        )
    ldid = header[29]
    if ldid and ldid not in _LDID and ldid != 0x57:
        logger.warning("%s: unknown DBF language driver id 0x%02X ignored", dbf, ldid)
    return _LDID.get(ldid)
