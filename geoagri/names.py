"""Vietnamese administrative-unit names: normalisation, matching and official codes.

The same commune is written many ways: ``"Xã Tuyên Bình Tây"``,
``"TUYEN BINH TAY"``, ``"TuyênBìnhTây"``, ``"X. Tuyên Bình Tây"``, with the
tone mark on either vowel (``"Hòa"`` / ``"Hoà"``), with ``y`` or ``i``
(``"Mỹ Quý"`` / ``"Mỹ Quí"``), in NFC or NFD Unicode.  This module turns a
name into comparison keys (:func:`unit_key`, :func:`ascii_key`), reads the
unit type from its prefix (:func:`unit_type`), and matches names against a
reference table (:func:`match_names`) such as the official list of units
(:func:`admin_units`, :func:`official_codes`).

Official codes come from the ``vietnamadminunits`` package.  Codes before
and after the 1 July 2025 reorganisation are separate namespaces (the new
Xã Tuyên Bình is ``"27775"``, which was the old code of Xã Vĩnh Bình), so
every function that touches codes takes ``era="old"`` (63 provinces,
districts, 10,035 communes) or ``era="new"`` (34 provinces, 3,321 communes,
no districts).  Codes are returned as the official zero-padded strings
(``"00004"``, ``"27784"``).

Tone placement: traditional ("old style") spelling puts the tone mark of an
open ``oa``, ``oe``, ``uy`` on the first vowel (``hòa``, ``khỏe``, ``thúy``);
the "new style" taught in schools since the 1980s puts it on the main vowel
(``hoà``, ``khoẻ``, ``thuý``).  Both are in use, so the keys attach every
tone mark to the end of its vowel group instead of to a particular vowel.
After a consonant, a lone ``y`` and ``i`` are interchangeable in names
(``Mỹ``/``Mĩ``, ``Lý``/``Lí``, ``Quý``/``Quí``), so the keys write ``i``.

Examples
--------
>>> from geoagri.names import unit_key, official_codes
>>> unit_key("Xã Tuyên Bình Tây") == unit_key("tuyên bình tây")
True
>>> official_codes(["TT Vĩnh Hưng", "xa Tuyen Binh Tay"], era="old",
...                province="Long An", district="Vĩnh Hưng").tolist()
['27757', '27784']
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import unicodedata
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from geoagri.errors import GeoagriError, NameMatchError, Problem, SchemaError

__all__ = [
    "UNIT_TYPES",
    "admin_units",
    "ascii_key",
    "match_names",
    "official_codes",
    "unit_key",
    "unit_type",
]

logger = logging.getLogger("geoagri")

#: Canonical unit types and how each is written: (Vietnamese words, the same
#: words without diacritics, abbreviations).  Abbreviations of one letter need
#: a dot or a digit after them (``"X. Mỹ An"``, ``"P.1"``, ``"Q1"``).
UNIT_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "thi_tran": (("thị trấn",), ("thi tran",), ("tt",)),
    "thi_xa": (("thị xã",), ("thi xa",), ("tx",)),
    "thanh_pho": (("thành phố",), ("thanh pho",), ("tp",)),
    "dac_khu": (("đặc khu",), ("dac khu",), ()),
    "phuong": (("phường",), ("phuong",), ("p",)),
    "xa": (("xã",), ("xa",), ("x",)),
    "huyen": (("huyện",), ("huyen",), ("h",)),
    "quan": (("quận",), ("quan",), ("q",)),
    "tinh": (("tỉnh",), ("tinh",), ()),
}

_ERAS = ("old", "new")
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền sắc ngã hỏi nặng
_VOWELS = frozenset("aeiouy")
_SEPARATORS = re.compile(r"[\s.,:;_\-\u2013\u2014]+")
# Letters that legacy font conversions put where "Đ"/"đ" belongs.
_D_LOOKALIKES = str.maketrans({"\u00d0": "Đ", "\u00f0": "đ", "\u0189": "Đ"})


def _word_pattern(form: str, *, abbreviation: bool) -> re.Pattern[str]:
    if abbreviation:
        # "tt", "t.t", "T.T." ; one-letter abbreviations are handled by the caller
        body = r"\.?".join(re.escape(ch) for ch in form)
    else:
        body = r"\s*".join(re.escape(w) for w in form.split())
    return re.compile(body, re.IGNORECASE)


# (canonical type, pattern, kind) with kind "word", "ascii" or "abbr"; longest first.
_PREFIXES: list[tuple[str, re.Pattern[str], str]] = sorted(
    (
        [(t, _word_pattern(f, abbreviation=False), "word") for t, v in UNIT_TYPES.items()
         for f in v[0]]
        + [(t, _word_pattern(f, abbreviation=False), "ascii") for t, v in UNIT_TYPES.items()
           for f in v[1]]
        + [(t, _word_pattern(f, abbreviation=True), "abbr") for t, v in UNIT_TYPES.items()
           for f in v[2]]
    ),
    key=lambda item: -len(item[1].pattern),
)


def _clean(name: str) -> str:
    """NFC, legacy look-alike letters replaced, outer quotes and spaces removed."""
    text = unicodedata.normalize("NFC", str(name)).translate(_D_LOOKALIKES)
    return text.strip().strip("'\"“”‘’").strip()


def _split_prefix(name: str) -> tuple[str | None, str, bool]:
    """Split a unit-type prefix off a name.

    Returns ``(type, rest, ascii_form)``; ``ascii_form`` tells that the prefix
    was a word written without diacritics (``"xa"``, ``"quan"``), which could
    also be the first syllable of a name (``"Quan Sơn"``, ``"Xa Dung"``).
    Words without diacritics are only read as a prefix in a name written
    wholly without diacritics.
    """
    text = _clean(name)
    is_ascii = text.isascii()
    for canonical, pattern, kind in _PREFIXES:
        if kind == "ascii" and not is_ascii:
            continue
        m = pattern.match(text)
        if m is None:
            continue
        end = m.end()
        after = text[end:]
        if not after:
            continue
        sep = _SEPARATORS.match(after)
        single = kind == "abbr" and len(pattern.pattern) == 1
        if sep is not None:
            if single and "." not in sep.group():
                continue
            rest = after[sep.end():]
        elif after[0].isdigit():
            rest = after
        elif kind != "abbr" and after[0].isupper() and (
            text[end - 1].islower() or after[1:2].islower()
        ):
            rest = after  # camel case: "XãTuyênBìnhTây", "XÃTuyênBìnhTây"
        else:
            continue
        rest = rest.strip()
        if rest:
            return canonical, rest, kind == "ascii"
    return None, text, False


def _syllable_key(text: str) -> str:
    """Casefold, move tone marks to the end of each vowel group, lone y → i."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    letters: list[list[str]] = []  # [base, quality marks, tone marks]
    for ch in decomposed:
        if unicodedata.combining(ch):
            if letters:
                letters[-1][2 if ch in _TONE_MARKS else 1] += ch
        else:
            letters.append([ch, "", ""])
    out: list[str] = []
    i = 0
    while i < len(letters):
        if letters[i][0] not in _VOWELS:
            out.append("".join(letters[i]))
            i += 1
            continue
        j = i
        while j < len(letters) and letters[j][0] in _VOWELS:
            j += 1
        group = letters[i:j]
        bases = "".join(b for b, q, _ in group if not q)
        previous = letters[i - 1][0] if i > 0 else ""
        plain = len(bases) == len(group)
        if plain and bases == "y" and previous.isalpha():
            group = [["i", "", group[0][2]]]  # Mỹ ≡ Mĩ, Lý ≡ Lí
        elif plain and bases == "uy" and previous == "q":
            group = [group[0], ["i", "", group[1][2]]]  # Quý ≡ Quí
        tones = "".join(t for _, _, t in group)
        out.extend(b + q for b, q, _ in group)
        out.append(tones)
        i = j
    key = unicodedata.normalize("NFC", "".join(out))
    return "".join(ch for ch in key if unicodedata.category(ch)[0] in "LNM")


def _strip_diacritics(key: str) -> str:
    decomposed = unicodedata.normalize("NFD", key.replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def unit_key(name: str) -> str:
    """Comparison key of an administrative-unit name, diacritics kept.

    The key is the name without its unit-type prefix (see :func:`unit_type`),
    in NFC, case-folded, with tone marks placed the same way whatever the
    spelling style (``hòa`` ≡ ``hoà``, ``thúy`` ≡ ``thuý``), a lone ``y``
    after a consonant written ``i`` (``Mỹ`` ≡ ``Mĩ``, ``Quý`` ≡ ``Quí``), and
    spaces and punctuation dropped.  Diacritics are kept, so ``"Mỹ An"`` and
    ``"Mý An"`` differ.  The key compares names; it is not a spelling.

    Parameters
    ----------
    name : str
        A name, with or without a prefix such as ``"Xã"``, ``"TT"``,
        ``"Phường"``, ``"Huyện"``, ``"TP."``.  Prefixes written without
        diacritics (``"xa"``, ``"quan"``) are only removed from a name written
        wholly without diacritics.

    Returns
    -------
    str
        The key.

    Examples
    --------
    >>> unit_key("Xã Tuyên Bình Tây")
    'tuyênbìnhtây'
    >>> unit_key("X. TuyênBìnhTây") == unit_key("TUYÊN BÌNH TÂY")
    True
    >>> unit_key("Xã Mỹ Hoà") == unit_key("Mĩ Hòa")
    True
    >>> unit_key("Mỹ An") == unit_key("Mý An")
    False
    """
    return _syllable_key(_split_prefix(name)[1])


def ascii_key(name: str) -> str:
    """Comparison key of a name without diacritics (``đ`` → ``d``).

    Same as :func:`unit_key` with every diacritic removed, for names typed
    without Vietnamese input or garbled by a legacy font encoding.

    Parameters
    ----------
    name : str
        A name, with or without a unit-type prefix.

    Returns
    -------
    str
        The key, lower case.

    Examples
    --------
    >>> ascii_key("Xã Đốc Binh Kiều")
    'docbinhkieu'
    >>> ascii_key("xa Tuyen Binh Tay") == ascii_key("TT. Tuyên Bình Tây")
    True
    """
    return _strip_diacritics(unit_key(name))


def unit_type(name: str) -> str | None:
    """Canonical unit type read from the prefix of a name.

    Parameters
    ----------
    name : str
        A name such as ``"Thị trấn Vĩnh Hưng"``, ``"TT Vĩnh Hưng"`` or
        ``"Vĩnh Hưng"``.

    Returns
    -------
    str or None
        One of the keys of :data:`UNIT_TYPES` (``"xa"``, ``"phuong"``,
        ``"thi_tran"``, ``"thi_xa"``, ``"huyen"``, ``"quan"``,
        ``"thanh_pho"``, ``"tinh"``, ``"dac_khu"``), or None when the name
        has no prefix.

    Examples
    --------
    >>> unit_type("TT Vĩnh Hưng"), unit_type("Thị Trấn Vĩnh Hưng")
    ('thi_tran', 'thi_tran')
    >>> unit_type("P.1"), unit_type("Đặc khu Côn Đảo"), unit_type("Vĩnh Hưng")
    ('phuong', 'dac_khu', None)
    """
    return _split_prefix(name)[0]


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class _Reading:
    """One way to read a name: its type (or None) and keys (None: not used)."""

    unit_type: str | None
    key: str | None
    ascii: str | None


def _readings(name: str, *, glued: bool) -> list[_Reading]:
    """All plausible readings of a name, most literal first."""
    kind, rest, ascii_form = _split_prefix(name)
    key = _syllable_key(rest)
    readings = [_Reading(kind, key, _strip_diacritics(key))]
    if kind is not None:
        # the prefix may be part of the name: "Quan Hoa", "Xa Dung", "Phường Đúc"
        whole = _syllable_key(_clean(name))
        readings.append(_Reading(None, whole, _strip_diacritics(whole) if ascii_form else None))
    if glued and kind is None:
        # "XÃTUYÊNBÌNHTÂY", "xaTuyenBinhTay": a prefix glued to the name
        whole = readings[0].key or ""
        whole_ascii = readings[0].ascii or ""
        for canonical, word_key in _GLUED_WORDS:
            if whole.startswith(word_key) and len(whole) > len(word_key):
                rem = whole[len(word_key):]
                readings.append(_Reading(canonical, rem, _strip_diacritics(rem)))
            word_ascii = _strip_diacritics(word_key)
            if whole_ascii.startswith(word_ascii) and len(whole_ascii) > len(word_ascii):
                readings.append(_Reading(canonical, None, whole_ascii[len(word_ascii):]))
    return readings


# Prefixes recognised when glued to the name: the Vietnamese words, and the
# two-letter abbreviations (no Vietnamese syllable starts with "tt", "tx", "tp").
_GLUED_WORDS: list[tuple[str, str]] = [
    (t, _syllable_key(f)) for t, v in UNIT_TYPES.items() for f in v[0]
] + [(t, f) for t, v in UNIT_TYPES.items() for f in v[2] if len(f) == 2]


class _Index:
    """Keys of a reference table, for lookups by key and by ascii key."""

    def __init__(self, names: Sequence[object], ids: Sequence[object], labels: Sequence[str]):
        self.ids = list(ids)
        self.labels = list(labels)
        self.by_key: dict[str, list[tuple[int, str | None]]] = {}
        self.by_ascii: dict[str, list[tuple[int, str | None]]] = {}
        self.by_loose: dict[str, list[tuple[int, str | None]]] = {}
        for row, name in enumerate(names):
            if _is_missing(name):
                continue
            for reading in _readings(str(name), glued=False):
                if reading.key is not None:
                    self.by_key.setdefault(reading.key, []).append((row, reading.unit_type))
                if reading.ascii is not None:
                    self.by_ascii.setdefault(reading.ascii, []).append((row, reading.unit_type))
                    self.by_loose.setdefault(_loose(reading.ascii), []).append(
                        (row, reading.unit_type))

    def _lookup(self, readings: list[_Reading], *, ascii: bool,
                loose: bool = False) -> list[int]:
        table = self.by_loose if loose else self.by_ascii if ascii else self.by_key
        rows: dict[object, int] = {}
        for reading in readings:
            key = reading.ascii if ascii else reading.key
            if loose and key is not None:
                key = _loose(key)
            if key is None:
                continue
            for row, ref_type in table.get(key, ()):
                if reading.unit_type is None or ref_type is None or ref_type == reading.unit_type:
                    rows.setdefault(self.ids[row], row)
        return list(rows.values())

    def find(self, name: str) -> tuple[list[int], str]:
        """Rows matching a name and the stage that found them."""
        readings = _readings(name, glued=True)
        if not _clean(name).isascii():
            rows = self._lookup(readings, ascii=False)
            if rows:
                return rows, "key"
        # A name typed without diacritics may stand for any of its accented
        # forms: "Thanh An" is as close to "Thạnh An" as to "Thanh An".
        rows = self._lookup(readings, ascii=True)
        if rows:
            return rows, "ascii"
        # Written without spaces, syllables run together ("MỹAnHưngA"), so where a
        # lone y ends one ("Mỹ" ≡ "Mĩ") cannot be told: compare with every y as i.
        return self._lookup(readings, ascii=True, loose=True), "loose"

    def suggest(self, name: str, *, n: int = 3) -> list[str]:
        """Labels of the closest reference names: same name of another type first."""
        readings = _readings(name, glued=True)
        untyped = [_Reading(None, r.key, r.ascii) for r in readings]
        other_type = [self.labels[r] for r in self._lookup(untyped, ascii=True)]
        close = difflib.get_close_matches(readings[0].ascii or "", list(self.by_ascii), n=n,
                                          cutoff=0.6)
        found = dict.fromkeys(other_type)
        for key in close:
            seen: set[object] = set()
            for row, _ in self.by_ascii[key]:
                if self.ids[row] not in seen:
                    seen.add(self.ids[row])
                    found.setdefault(self.labels[row])
        return list(found)[: n + len(other_type)]


def _loose(ascii: str) -> str:
    """An ascii key with every y written i (syllable boundaries may be lost)."""
    return ascii.replace("y", "i")


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN
        return True
    return isinstance(value, str) and not value.strip()


def _match(
    names: Sequence[object] | pd.Series,
    index: _Index,
    *,
    layer: str | None,
    column: str | None,
    what: str = "reference",
    narrow: str = "narrow the reference table or give the id instead of the name",
    series_name: str | None = None,
) -> pd.Series:
    """Match names against an index; raise one NameMatchError for all failures."""
    values = names if isinstance(names, pd.Series) else pd.Series(list(names), dtype=object)
    result: list[object] = []
    ambiguous: dict[str, tuple[list[str], list[Hashable]]] = {}
    unmatched: dict[str, tuple[list[str], list[Hashable]]] = {}
    empty: list[Hashable] = []
    cache: dict[str, tuple[list[int], str]] = {}
    for label, value in zip(values.index, values.tolist(), strict=True):
        result.append(None)
        if _is_missing(value):
            empty.append(label)
            continue
        name = str(value)
        if name not in cache:
            cache[name] = index.find(name)
        rows, stage = cache[name]
        if len(rows) == 1:
            result[-1] = index.ids[rows[0]]
            if stage in ("ascii", "loose"):
                logger.debug("'%s' matched %s without diacritics", name, index.labels[rows[0]])
        elif rows:
            entry = ambiguous.setdefault(name, ([index.labels[r] for r in rows], []))
            entry[1].append(label)
        else:
            entry = unmatched.setdefault(name, (index.suggest(name), []))
            entry[1].append(label)
    if ambiguous or unmatched or empty:
        raise _match_error(ambiguous, unmatched, empty, n_names=len(values),
                           layer=layer, column=column, what=what, narrow=narrow)
    return pd.Series(result, index=values.index.copy(), dtype=object, name=series_name)


def _rows(labels: list[Hashable]) -> list[str]:
    return [f"row {label}" for label in labels]


def _match_error(
    ambiguous: dict[str, tuple[list[str], list[Hashable]]],
    unmatched: dict[str, tuple[list[str], list[Hashable]]],
    empty: list[Hashable],
    *,
    n_names: int,
    layer: str | None,
    column: str | None,
    what: str,
    narrow: str,
) -> NameMatchError:
    problems: list[Problem] = []
    for name, (candidates, labels) in ambiguous.items():
        full_names = [c.split(" (")[0] for c in candidates]
        readings = {(unit_type(n), unit_key(n)) for n in full_names}
        if len(readings) == len(full_names) and all(t for t, _ in readings):
            examples = " or ".join(f"'{n}'" for n in full_names[:3])
            fix = f"write the name in full, with its unit type and diacritics, e.g. {examples}"
        else:
            fix = narrow
        problems.append(Problem(
            "ambiguous_name",
            f"'{name}' matches {len(candidates)} units: {', '.join(candidates)}",
            layer=layer, column=column, ids=_rows(labels), fix=fix,
        ))
    for name, (suggestions, labels) in unmatched.items():
        closest = f"; closest: {', '.join(suggestions)}" if suggestions else "; no close name"
        problems.append(Problem(
            "unmatched_name",
            f"'{name}' matches no unit of the {what}{closest}",
            layer=layer, column=column, ids=_rows(labels),
            fix="correct the spelling, or check the province, district and era",
        ))
    if empty:
        problems.append(Problem(
            "empty_name", "the name is empty or missing",
            layer=layer, column=column, ids=_rows(empty), fix="fill in the name",
        ))
    n_bad = sum(len(v[1]) for v in ambiguous.values()) + sum(
        len(v[1]) for v in unmatched.values()) + len(empty)
    where = "".join([f"layer '{layer}', " if layer else "",
                     f"column '{column}': " if column else ""])
    head = (f"{where}{n_bad} of {n_names} rows do not match exactly one unit of the {what} "
            f"({len(ambiguous)} ambiguous names, {len(unmatched)} unmatched names, "
            f"{len(empty)} empty rows):")
    err = NameMatchError("\n".join([head, *(f"  - {p}" for p in problems)]))
    err.problems = problems  # type: ignore[attr-defined]
    err.ambiguous = {k: v[0] for k, v in ambiguous.items()}  # type: ignore[attr-defined]
    err.unmatched = {k: v[0] for k, v in unmatched.items()}  # type: ignore[attr-defined]
    return err


def match_names(
    names: Sequence[str] | pd.Series,
    reference: pd.DataFrame,
    *,
    name_col: str = "commune_name",
    id_col: str = "commune_code",
    layer: str | None = None,
    column: str | None = None,
) -> pd.Series:
    """Id of the reference row that each name designates, whatever its spelling.

    A name matches a reference name when their :func:`unit_key` are equal
    (and their types, when both name a type: ``"Xã Mỹ An"`` does not match
    ``"Thị trấn Mỹ An"``); failing that, when their :func:`ascii_key` are
    equal.  A name written wholly without diacritics is compared by
    :func:`ascii_key` only, since it may stand for any accented form:
    ``"Thanh An"`` is ambiguous when the reference has both ``"Thanh An"``
    and ``"Thạnh An"``.  A prefix that could also be part of the name
    (``"Quan Hoa"``, ``"Xa Dung"``) or is glued to it (``"XATUYENBINHTAY"``)
    is tried both ways.  A name must designate exactly one reference id:
    ambiguity is reported, never settled by a guess.

    Parameters
    ----------
    names : sequence of str or pandas.Series
        Names to match.  A Series keeps its index in the result and in the
        row labels of the error.
    reference : pandas.DataFrame
        Reference units, e.g. from :func:`admin_units`.
    name_col, id_col : str
        Columns of ``reference`` holding the name (with or without its type
        prefix) and the id returned.
    layer, column : str, optional
        Layer and column the names come from, quoted in the error.

    Returns
    -------
    pandas.Series
        The id of each name (dtype object), index aligned with ``names``,
        named ``id_col``.

    Raises
    ------
    SchemaError
        If ``reference`` lacks ``name_col`` or ``id_col``.
    NameMatchError
        Once, listing every name that matches no unit (with the closest
        reference names), several units (with their names and ids, e.g.
        ``Xã Mỹ An (30064), Thị trấn Mỹ An (30037)``) or is empty, and their
        row labels.  The error has ``.problems`` (:class:`~geoagri.errors.Problem`),
        ``.ambiguous`` and ``.unmatched`` (name → candidate or suggested labels).

    Examples
    --------
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"commune_name": ["Xã Mỹ An", "Thị trấn Mỹ An", "Xã Mỹ Quý"],
    ...                     "commune_code": ["30064", "30037", "30055"]})
    >>> match_names(["TT Mỹ An", "xa My An", "Mỹ Quí"], ref).tolist()
    ['30037', '30064', '30055']
    >>> match_names(["Mỹ An"], ref, layer="zones", column="xa")
    Traceback (most recent call last):
    ...
    geoagri.errors.NameMatchError: layer 'zones', column 'xa': 1 of 1 rows ...
      - column 'xa': 'Mỹ An' matches 2 units: Xã Mỹ An (30064), Thị trấn Mỹ An (30037) ...
    """
    missing = [c for c in (name_col, id_col) if c not in reference.columns]
    if missing:
        raise SchemaError(
            f"the reference table lacks column(s) {missing}; it has {list(reference.columns)}. "
            "Fix: pass name_col= and id_col= naming its name and id columns"
        )
    ref_names = reference[name_col].tolist()
    ref_ids = reference[id_col].tolist()
    labels = [f"{n} ({i})" for n, i in zip(ref_names, ref_ids, strict=True)]
    return _match(names, _Index(ref_names, ref_ids, labels), layer=layer, column=column,
                  series_name=id_col)


# --------------------------------------------------------------------- official units

_TYPE_OF_LABEL = {"Xã": "xa", "Phường": "phuong", "Thị trấn": "thi_tran", "Đặc khu": "dac_khu",
                  "Huyện": "huyen", "Quận": "quan", "Thị xã": "thi_xa", "Thành phố": "thanh_pho"}


def _check_era(era: object) -> str:
    if era not in _ERAS:
        raise GeoagriError(
            f"era must be 'old' (units before 1 July 2025: 63 provinces, districts) or 'new' "
            f"(units from 1 July 2025: 34 provinces, no districts); got {era!r}. "
            "Old and new codes are separate namespaces: say which one you mean"
        )
    return str(era)


@lru_cache(maxsize=2)
def _official(era: str) -> pd.DataFrame:
    """All official communes of an era, canonical columns (cached; never hand out)."""
    from geoagri._admin_data import get_data

    if era == "old":
        raw = pd.DataFrame(get_data(table="admin_units_legacy", fields=[
            "provinceCode", "province", "districtCode", "district", "districtType", "wardCode",
            "ward", "wardType"]))  # not all 30 columns: a fifth of the time
        # five island districts (Côn Đảo, Bạch Long Vĩ, ...) have no commune level
        raw = raw.dropna(subset=["wardCode"])
        frame = pd.DataFrame({
            "province_code": raw["provinceCode"],
            "province": raw["province"],
            "district_code": raw["districtCode"],
            "district": raw["district"],
            "district_type": raw["districtType"].map(_TYPE_OF_LABEL),
            "commune_code": raw["wardCode"],
            "commune_name": raw["ward"],
            "commune_type": raw["wardType"].map(_TYPE_OF_LABEL),
        })
    else:
        raw = pd.DataFrame(get_data(table="admin_units", fields=[
            "provinceCode", "province", "wardCode", "ward", "wardType"]))
        frame = pd.DataFrame({
            "province_code": raw["provinceCode"],
            "province": raw["province"],
            "commune_code": raw["wardCode"],
            "commune_name": raw["ward"],
            "commune_type": raw["wardType"].map(_TYPE_OF_LABEL),
        })
    frame["era"] = era
    return frame.reset_index(drop=True)


@lru_cache(maxsize=2)
def _province_index(era: str) -> tuple[_Index, list[str]]:
    """Index of the provinces of an era (names, DB aliases such as 'hcm', codes)."""
    from geoagri._admin_data import query

    table = "admin_units_legacy" if era == "old" else "admin_units"
    rows = query(f"SELECT DISTINCT province, provinceCode, provinceAlias FROM {table}")
    names: list[str] = []
    ids: list[str] = []
    labels: list[str] = []
    for row in rows:
        aliases = json.loads(row["provinceAlias"]) if row["provinceAlias"] else []
        label = f"{row['province']} ({row['provinceCode']})"
        for name in [row["province"], *aliases]:
            names.append(name)
            ids.append(row["provinceCode"])
            labels.append(label)
    return _Index(names, ids, labels), sorted(set(ids))


def _resolve_province(province: str | int, *, era: str) -> str:
    index, codes = _province_index(era)
    text = str(province).strip()
    if text.isdigit() and text.zfill(2) in codes:
        return text.zfill(2)
    try:
        return str(_match([text], index, layer=None, column="province",
                          what=f"provinces of era '{era}'").iloc[0])
    except NameMatchError as err:
        other = "new" if era == "old" else "old"
        rows, _ = _province_index(other)[0].find(text)
        if rows:
            raise NameMatchError(
                f"{err}\n  '{province}' is a province of era '{other}', not '{era}': "
                f"pass era='{other}'") from None
        raise


def admin_units(
    *, era: str, province: str | None = None, district: str | None = None
) -> pd.DataFrame:
    """Official communes of Vietnam before or after the 2025 reorganisation.

    Read from the ``vietnamadminunits`` package (cached; every call returns a
    new frame).

    Parameters
    ----------
    era : {"old", "new"}
        ``"old"``: units before 1 July 2025 (63 provinces, districts, 10,035
        communes; the five island districts without communes are left out).
        ``"new"``: units from 1 July 2025 (34 provinces, 3,321 communes, no
        districts).  Codes of the two eras are separate namespaces.
    province : str, optional
        Keep one province, written any way (``"Long An"``, ``"tỉnh long
        an"``, ``"TP HCM"``) or as its code in that era (``"80"``).
    district : str, optional
        Keep one district (era ``"old"`` only), written any way, or as its
        code (``"797"``).

    Returns
    -------
    pandas.DataFrame
        Era ``"old"``: ``province_code``, ``province``, ``district_code``,
        ``district``, ``district_type`` (``huyen``, ``quan``, ``thi_xa``,
        ``thanh_pho``), ``commune_code``, ``commune_name``, ``commune_type``,
        ``era``.  Era ``"new"``: the same without the district columns.
        Codes are official zero-padded strings; ``commune_name`` and
        ``district`` are full names (``"Xã Tuyên Bình Tây"``, ``"Huyện
        Vĩnh Hưng"``); ``commune_type`` and ``district_type`` are keys of
        :data:`UNIT_TYPES`; ``era`` repeats the era.

    Raises
    ------
    GeoagriError
        If ``era`` is not ``"old"`` or ``"new"``, or a district is asked for
        in era ``"new"``.
    NameMatchError
        If the province or district matches no unit or several (a district
        name without a province often does).

    Examples
    --------
    >>> old = admin_units(era="old", province="long an", district="Vĩnh Hưng")
    >>> old.loc[old.commune_code == "27775", "commune_name"].item()
    'Xã Vĩnh Bình'
    >>> new = admin_units(era="new", province="Tây Ninh")
    >>> new.loc[new.commune_code == "27775", "commune_name"].item()
    'Xã Tuyên Bình'
    >>> len(admin_units(era="new")), sorted(new.columns)[:3]
    (3321, ['commune_code', 'commune_name', 'commune_type'])
    """
    era = _check_era(era)
    if district is not None and era == "new":
        raise GeoagriError(
            f"district={district!r} given with era='new': districts were abolished on "
            "1 July 2025. Fix: drop district=, or use era='old'"
        )
    frame = _official(era)
    if province is not None:
        frame = frame[frame["province_code"] == _resolve_province(province, era=era)]
    if district is not None:
        frame = frame[frame["district_code"] == _resolve_district(frame, district)]
    return frame.reset_index(drop=True).copy()


def _resolve_district(frame: pd.DataFrame, district: str | int) -> str:
    units = frame.drop_duplicates("district_code")
    text = str(district).strip()
    if text.isdigit() and text.zfill(3) in set(units["district_code"]):
        return text.zfill(3)
    labels = [f"{d} ({c}, {p})" for d, c, p in
              zip(units["district"], units["district_code"], units["province"], strict=True)]
    index = _Index(units["district"].tolist(), units["district_code"].tolist(), labels)
    return str(_match([text], index, layer=None, column="district",
                      what="districts (era 'old')",
                      narrow="give province= too, or the district code").iloc[0])


def official_codes(
    names: Sequence[str] | pd.Series,
    *,
    era: str,
    province: str | None,
    district: str | None = None,
    layer: str | None = None,
    column: str | None = None,
) -> pd.Series:
    """Official commune codes of names, in the old or the new namespace.

    Matches ``names`` with :func:`match_names` against
    ``admin_units(era=era, province=province, district=district)``.

    Parameters
    ----------
    names : sequence of str or pandas.Series
        Commune names, spelled any way; a Series keeps its index.
    era : {"old", "new"}
        Which namespace (see :func:`admin_units`).
    province : str or None
        Province to match within (strongly advised: many commune names recur
        across provinces).  None matches against the whole country.
    district : str, optional
        District to match within (era ``"old"`` only).
    layer, column : str, optional
        Layer and column the names come from, quoted in the error.

    Returns
    -------
    pandas.Series
        Codes as zero-padded strings, index aligned with ``names``, named
        ``"commune_code_old"`` or ``"commune_code_new"`` so the namespace
        stays visible.

    Raises
    ------
    GeoagriError
        Bad ``era``, or ``district`` with era ``"new"``.
    NameMatchError
        Province or district not found, or names unmatched or ambiguous
        (all of them listed in one error; see :func:`match_names`).

    Examples
    --------
    >>> official_codes(["Tuyên Bình"], era="old", province="Long An").tolist()
    ['27781']
    >>> official_codes(["Xã Tuyên Bình"], era="new", province="Tây Ninh").tolist()
    ['27775']
    >>> official_codes(["Mỹ Quý", "Mỹ Quí"], era="new", province="Đồng Tháp").tolist()
    ['30055', '30055']
    """
    reference = admin_units(era=era, province=province, district=district)
    if era == "old" and district is None:
        labels = [f"{n} ({c}, {d})" for n, c, d in zip(
            reference["commune_name"], reference["commune_code"], reference["district"],
            strict=True)]
    else:
        labels = [f"{n} ({c})" for n, c in
                  zip(reference["commune_name"], reference["commune_code"], strict=True)]
    where = ", ".join(str(p) for p in (district, province) if p is not None) or "Vietnam"
    index = _Index(reference["commune_name"].tolist(), reference["commune_code"].tolist(), labels)
    return _match(names, index, layer=layer, column=column,
                  what=f"communes of era '{era}' in {where}",
                  narrow=("give district= (era 'old') or the commune code" if era == "old"
                          else "give the commune code"),
                  series_name=f"commune_code_{era}")
