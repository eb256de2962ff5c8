"""Sales Navigator company-search URLs: validate, normalise, decode into filters, label, encode.

What is known of these URLs is in shared/salesnav/URLS.md. In short: the `query` parameter holds a
Rest.li object whose structure is percent-encoded once and whose atoms are encoded twice. Decoding
once, parsing the structure, then decoding each atom keeps commas inside labels ("10,001+") intact.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast
from urllib.parse import quote, unquote, urlsplit

from navmetrics.bulk import gc_paused

Status = Literal["ok", "warning", "invalid"]

CANONICAL_PREFIX = "https://www.linkedin.com/sales/search/company"
HYPERLINK = re.compile(r'^[=+@]\s*HYPERLINK\(\s*"([^"]+)"', re.IGNORECASE)
EDGES_PATTERN = re.compile(r"^https://(?:(www|[a-z]{2})\.)?linkedin\.com/sales/search/company.+")

NOISE_PARAMS = frozenset(
    {
        "sessionId",
        "viewAllFilters",
        "page",
        "searchSessionId",
        "_ntb",
        "preserveScrollPosition",
        "logHistory",
        "logId",
        "rsLogId",
        "doFetchHeroCard",
        "trackingInfoJson.contextId",
    }
)
QUERY_NOISE_KEYS = frozenset({"recentSearchParam"})

HEADCOUNT = {
    "B": "1-10",
    "C": "11-50",
    "D": "51-200",
    "E": "201-500",
    "F": "501-1,000",
    "G": "1,001-5,000",
    "H": "5,001-10,000",
    "I": "10,001+",
}
FOLLOWERS = {
    "NFR1": "1-50",
    "NFR2": "51-100",
    "NFR3": "101-1000",
    "NFR4": "1001-5000",
    "NFR5": "5001+",
}
FORTUNE = {"1": "Fortune 50", "2": "Fortune 51-100", "3": "Fortune 101-250", "4": "Fortune 251-500"}
KNOWN_VALUE_LABELS: dict[str, dict[str, str]] = {
    "COMPANY_HEADCOUNT": HEADCOUNT,
    "NUM_OF_FOLLOWERS": FOLLOWERS,
    "FORTUNE": FORTUNE,
    "JOB_OPPORTUNITIES": {"JO1": "Hiring on LinkedIn"},
    "ACCOUNT_ACTIVITIES": {
        "RFE": "Funding events in past 12 months",
        "SLC": "Senior leadership changes in last 3 months",
    },
    "RELATIONSHIP": {"F": "1st-degree connections"},
    "REGION": {
        "103644278": "United States",
        "101165590": "United Kingdom",
        "102299470": "England, United Kingdom",
        "102713980": "India",
        "103323778": "Mexico",
    },
    "INDUSTRY": {
        "4": "Software Development",
        "25": "Manufacturing",
        "27": "Retail",
        "133": "Wholesale",
        "116": "Transportation, Logistics, Supply Chain and Storage",
    },
}
FILTER_NAMES = {
    "COMPANY_HEADCOUNT": "Company headcount",
    "ANNUAL_REVENUE": "Annual revenue (millions)",
    "COMPANY_HEADCOUNT_GROWTH": "Headcount growth (%)",
    "REGION": "Headquarters location",
    "INDUSTRY": "Industry",
    "NUM_OF_FOLLOWERS": "Followers",
    "DEPARTMENT_HEADCOUNT": "Department headcount",
    "DEPARTMENT_HEADCOUNT_GROWTH": "Department headcount growth (%)",
    "FORTUNE": "Fortune",
    "JOB_OPPORTUNITIES": "Job opportunities",
    "ACCOUNT_ACTIVITIES": "Account activities",
    "RELATIONSHIP": "Relationship",
    "ACCOUNT_LIST": "Account list",
    "SAVED_ACCOUNTS": "Saved accounts",
    "ACCOUNTS_IN_CRM": "Accounts in CRM",
    "TECHNOLOGIES_USED": "Technologies used",
    "POSTAL_CODE": "Postal code",
}
PEOPLE_FILTER_TYPES = frozenset(
    {
        "CURRENT_COMPANY",
        "CURRENT_TITLE",
        "FUNCTION",
        "SENIORITY_LEVEL",
        "PERSONA",
        "YEARS_OF_EXPERIENCE",
        "LEAD_LIST",
    }
)
# Older flat parameters and the filter type each one stands for.
LEGACY_PARAMS = {
    "companySize": ("COMPANY_HEADCOUNT", "INCLUDED"),
    "geoIncluded": ("REGION", "INCLUDED"),
    "geoExcluded": ("REGION", "EXCLUDED"),
    "industryIncluded": ("INDUSTRY", "INCLUDED"),
    "industryExcluded": ("INDUSTRY", "EXCLUDED"),
}
OTHER_SALES_PAGES = {
    "/sales/lists": "a Sales Navigator list",
    "/sales/company": "a company page",
    "/sales/lead": "a lead page",
    "/sales/accounts": "a saved accounts page",
    "/sales/people": "a lead page",
    "/sales/inbox": "the Sales Navigator inbox",
    "/sales/home": "the Sales Navigator home page",
}


class QuerySyntaxError(ValueError):
    """The `query` value is not a Rest.li object this parser understands."""


# ---------------------------------------------------------------- Rest.li structure


class _Parser:
    """A bracket-aware reader of Rest.li 2.0 notation whose atoms are still percent-encoded."""

    KEY_START = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:")

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def parse(self) -> Any:
        value = self.value(in_object=False)
        if self.i != len(self.s):
            raise QuerySyntaxError(f"unexpected {self.s[self.i : self.i + 20]!r} at {self.i}")
        return value

    def value(self, in_object: bool) -> Any:
        if self.s.startswith("List(", self.i):
            self.i += 5
            return self.sequence()
        if self.i < len(self.s) and self.s[self.i] == "(":
            self.i += 1
            return self.obj()
        return self.atom(in_object)

    def sequence(self) -> list[Any]:
        items: list[Any] = []
        if self.peek() == ")":
            self.i += 1
            return items
        while True:
            items.append(self.value(in_object=False))
            ch = self.take()
            if ch == ")":
                return items
            if ch != ",":
                raise QuerySyntaxError(f"expected ',' or ')' in a List at {self.i}")

    def obj(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.peek() == ")":
            self.i += 1
            return out
        while True:
            colon = self.s.find(":", self.i)
            if colon < 0:
                raise QuerySyntaxError(f"expected 'key:' at {self.i}")
            key = self.s[self.i : colon]
            if not key or any(c in key for c in "(),"):
                raise QuerySyntaxError(f"bad key {key!r} at {self.i}")
            self.i = colon + 1
            out[unquote(key)] = self.value(in_object=True)
            ch = self.take()
            if ch == ")":
                return out
            if ch != ",":
                raise QuerySyntaxError(f"expected ',' or ')' in an object at {self.i}")

    def atom(self, in_object: bool) -> str:
        """Read up to the next structural ',' or ')'.

        Inside an object, a comma not followed by `key:` (nor an opening bracket) belongs to the
        label: that is how a label encoded only once ("10%2C001%2B") survives.
        """
        start = self.i
        depth = 0
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    break
                depth -= 1
            elif ch == "," and depth == 0:
                rest = self.s[self.i + 1 :]
                if not in_object or self.KEY_START.match(rest):
                    break
            self.i += 1
        return self.s[start : self.i]

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def take(self) -> str:
        ch = self.peek()
        if not ch:
            raise QuerySyntaxError("the query ends before its brackets close")
        self.i += 1
        return ch


_TOKENS = re.compile(r"List\(|[(),]|(?:(?!List\()[^(),])+")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:")


class _FastReader:
    """The same reading as `_Parser`, over regex tokens (C speed). It raises on anything unusual,
    and the careful parser then has the last word. (A class, not a closure: a recursive closure
    is a reference cycle per call.)"""

    def __init__(self, text: str) -> None:
        self.tokens = _TOKENS.findall(text)
        self.pos = 0

    def read(self) -> Any:
        parsed = self.value(False)
        if self.pos != len(self.tokens):
            raise QuerySyntaxError("trailing")
        return parsed

    def value(self, in_object: bool) -> Any:
        tokens = self.tokens
        tok = tokens[self.pos]
        if tok == "List(":
            self.pos += 1
            items: list[Any] = []
            if tokens[self.pos] == ")":
                self.pos += 1
                return items
            while True:
                items.append(self.value(False))
                sep = tokens[self.pos]
                self.pos += 1
                if sep == ")":
                    return items
                if sep != ",":
                    raise QuerySyntaxError("list")
        if tok == "(":
            self.pos += 1
            out: dict[str, Any] = {}
            while True:
                head = tokens[self.pos]
                key, colon, rest = head.partition(":")
                if not colon or not key or head in ("(", ")", ","):
                    raise QuerySyntaxError("key")
                if rest:
                    tokens[self.pos] = rest
                else:
                    self.pos += 1
                out[key] = self.value(True)
                sep = tokens[self.pos]
                self.pos += 1
                if sep == ")":
                    return out
                if sep != ",":
                    raise QuerySyntaxError("object")
        if tok in (")", ","):
            return ""
        self.pos += 1
        if in_object:  # a comma inside a label: the next piece is not `key:` nor a bracket
            n = len(tokens)
            while (
                self.pos + 1 < n
                and tokens[self.pos] == ","
                and tokens[self.pos + 1] not in ("(", ")", ",", "List(")
                and not _KEY.match(tokens[self.pos + 1])
            ):
                tok += "," + tokens[self.pos + 1]
                self.pos += 2
        return tok


def _parse_fast(text: str) -> Any:
    return _FastReader(text).read()


def _decode_atoms(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _decode_atoms(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_atoms(v) for v in value]
    if value == "''":
        return ""
    return unquote(value) if "%" in value else value


def parse_query(raw: str) -> dict[str, Any]:
    """Decode the raw (as found in the address bar) `query` value into plain Python objects."""
    text = raw
    atoms_twice = False
    if ":" not in text:
        text = unquote(text)  # structure encoded once, as Sales Navigator writes it
    else:
        # Structure not encoded: atoms are usually encoded once, but a copy that lost only the
        # outer layer still holds '%25'-escaped atoms, which need their second decoding too.
        atoms_twice = "%25" in text
        text = re.sub("%2[89]", lambda m: "(" if m.group(0) == "%28" else ")", text, flags=re.I)
    try:
        parsed = _parse_fast(text)
    except (QuerySyntaxError, IndexError):
        parsed = _Parser(text).parse()
    if not isinstance(parsed, dict):
        raise QuerySyntaxError("the query is not an object '(key:value,…)'")
    decoded = _decode_atoms(parsed)
    return _decode_atoms(decoded) if atoms_twice else decoded


_PLAIN = re.compile(r"[A-Za-z0-9_.~-]+")
_UNUSUAL = re.compile(r"[^A-Za-z0-9_.~()%:,'-]")


def _quote_structure(text: str) -> str:
    """`quote(text, safe="()")`, fast for the usual case: the atoms are escaped already, so only
    the structure's own characters are left to escape."""
    if _UNUSUAL.search(text):
        return quote(text, safe="()")
    return text.replace("%", "%25").replace(":", "%3A").replace(",", "%2C").replace("'", "%27")


def _encode_atom(atom: str) -> str:
    if _PLAIN.fullmatch(atom):
        return atom  # nothing to escape: most ids, types and selection values
    return "''" if atom == "" else quote(atom, safe="")


def _to_restli(value: Any) -> str:
    if isinstance(value, dict):
        return "(" + ",".join(f"{k}:{_to_restli(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list):
        return "List(" + ",".join(_to_restli(v) for v in value) + ")"
    return _encode_atom(str(value))


def encode_query(query: dict[str, Any]) -> str:
    """Encode as Sales Navigator does: atoms twice, structure once, parentheses literal."""
    return _quote_structure(_to_restli(query))


# ---------------------------------------------------------------- filters


@dataclass(frozen=True)
class FilterValue:
    id: str
    text: str | None = None
    selection: str = "INCLUDED"

    @property
    def label(self) -> str:
        return self.text or self.id


@dataclass(frozen=True)
class Filter:
    type: str
    values: tuple[FilterValue, ...] = ()
    range_min: str | None = None
    range_max: str | None = None
    sub_filter: str | None = None
    raw: str | None = None  # for shapes this module does not understand

    @property
    def name(self) -> str:
        return FILTER_NAMES.get(self.type, self.type)

    @functools.cached_property
    def label_part(self) -> str:
        """How its values read inside a label: 'India, not Mexico', or 'India +3' past three.

        Kept on the filter: a long list repeats the same filters, and the fast path hands out
        one shared object per distinct filter, so each is worded once.
        """
        names = [v.label if v.selection != "EXCLUDED" else f"not {v.label}" for v in self.values]
        return ", ".join(names) if len(names) <= 3 else f"{names[0]} +{len(names) - 1}"

    def describe(self) -> str:
        """A readable one-liner: 'Company headcount: 51-200, not 1-10'."""
        return self.description

    @functools.cached_property
    def as_json(self) -> dict[str, Any]:
        """The filter as `navmetrics validate --json` prints it (worked out once per filter, and
        shared: read it, do not change it)."""
        fields = {k: v for k, v in asdict(self).items() if v not in (None, ())}
        return fields | {"description": self.describe()}

    @functools.cached_property
    def description(self) -> str:
        if self.raw is not None:
            return f"{self.name}: {self.raw}"
        if self.values:
            parts = [
                v.label if v.selection != "EXCLUDED" else f"not {v.label}" for v in self.values
            ]
            return f"{self.name}: {', '.join(parts)}"
        unit = f" {self.sub_filter}" if self.sub_filter and self.type == "ANNUAL_REVENUE" else ""
        low = self.range_min if self.range_min is not None else "any"
        high = self.range_max if self.range_max is not None else "any"
        dept = (
            f" (department {self.sub_filter})"
            if self.sub_filter and self.type.startswith("DEPARTMENT")
            else ""
        )
        return f"{self.name}{dept}: {low} to {high}{unit}"

    def to_restli(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.values:
            items = []
            for v in self.values:
                item = {"id": v.id}
                if v.text is not None:
                    item["text"] = v.text
                item["selectionType"] = v.selection
                items.append(item)
            out["values"] = items
        if self.range_min is not None or self.range_max is not None:
            rng: dict[str, str] = {}
            if self.range_min is not None:
                rng["min"] = self.range_min
            if self.range_max is not None:
                rng["max"] = self.range_max
            out["rangeValue"] = rng
        if self.sub_filter is not None:
            out["selectedSubFilter"] = self.sub_filter
        return out


def _filter_from_restli(obj: Any) -> Filter:
    if not isinstance(obj, dict) or "type" not in obj:
        return Filter(type="UNKNOWN", raw=_to_restli(obj))
    ftype = str(obj["type"])
    known = {"type", "values", "rangeValue", "selectedSubFilter"}
    if set(obj) - known or not isinstance(obj.get("values", []), list):
        return Filter(type=ftype, raw=unquote(_to_restli(obj)))
    values = []
    for item in obj.get("values", []):
        if not isinstance(item, dict) or "id" not in item:
            return Filter(type=ftype, raw=unquote(_to_restli(obj)))
        text = item.get("text")
        values.append(
            FilterValue(
                id=str(item["id"]),
                text=str(text) if text is not None else None,
                selection=str(item.get("selectionType", "INCLUDED")),
            )
        )
    rng = obj.get("rangeValue") or {}
    if not isinstance(rng, dict):
        return Filter(type=ftype, raw=unquote(_to_restli(obj)))
    sub = obj.get("selectedSubFilter")
    return Filter(
        type=ftype,
        values=tuple(values),
        range_min=None if rng.get("min") is None else str(rng["min"]),
        range_max=None if rng.get("max") is None else str(rng["max"]),
        sub_filter=None if sub is None else str(sub),
    )


def _canonical_filter(f: Filter) -> Filter:
    """Same filter, values in a stable order, missing labels filled from the known tables."""
    if f.raw is not None:
        return f
    table = KNOWN_VALUE_LABELS.get(f.type, {})
    values = tuple(
        sorted(
            (FilterValue(v.id, v.text or table.get(v.id), v.selection) for v in f.values),
            key=lambda v: (v.selection != "INCLUDED", v.id),
        )
    )
    return Filter(f.type, values, f.range_min, f.range_max, f.sub_filter)


# ---------------------------------------------------------------- the verdict


@dataclass
class Verdict:
    """What NavMetrics makes of one line of input."""

    input: str
    status: Status
    message: str
    url: str | None = None
    filters: list[Filter] = field(default_factory=list)
    keywords: str | None = None
    saved_search_id: str | None = None

    @property
    def label(self) -> str | None:
        if self.status == "invalid":
            return None
        return make_label(self.filters, self.keywords, self.saved_search_id)

    def as_json(self, line: int) -> dict[str, Any]:
        return {
            "line": line,
            "input": self.input,
            "status": self.status,
            "url": self.url,
            "message": self.message,
            "label": self.label,
            "filters": [f.as_json for f in self.filters],
        }


_LABEL_ORDER = {"INDUSTRY": 0, "COMPANY_HEADCOUNT": 1, "REGION": 2}


def make_label(
    filters: list[Filter], keywords: str | None = None, saved_search_id: str | None = None
) -> str:
    """A segment name an analyst would write: 'Software Development · 51-200 · Mexico'."""
    parts: list[str] = [f"“{keywords}”"] if keywords else []
    main = [f for f in filters if f.type in _LABEL_ORDER and f.raw is None]
    others = [f for f in filters if f.type not in _LABEL_ORDER or f.raw is not None]
    if len(main) > 1:
        main.sort(key=lambda f: _LABEL_ORDER[f.type])
    parts.extend(f.label_part for f in main)
    if len(others) == 1 or (others and not parts):
        parts.extend(f.describe() for f in others[:2])
        if len(others) > 2:
            parts.append(f"+{len(others) - 2} more filters")
    elif others:
        parts.append(f"+{len(others)} more filters")
    if saved_search_id and not parts:
        return f"Saved search {saved_search_id}"
    return " · ".join(parts) if parts else "All companies"


def _raw_params(query_string: str) -> list[tuple[str, str]]:
    """Split a query string without decoding values: `query` must be decoded by its own rules."""
    pairs = []
    for piece in query_string.split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        pairs.append((unquote(key), value))
    return pairs


def _invalid(text: str, message: str) -> Verdict:
    return Verdict(input=text, status="invalid", message=message)


def validate(text: str) -> Verdict:
    """Classify one line: decode and normalise a company search, or say why it is not one."""
    raw = text.strip().strip('"').strip("'").strip()
    return _validate_fast(text, raw) or _validate(text, raw)


# The usual line, a current-shape URL as Sales Navigator writes it, is read filter by filter with
# each distinct filter decoded once (lists repeat industries, bands and regions endlessly), and the
# usual filter, a list of values, by one regular expression. Anything else, or anything unusual
# inside, takes the full path below; property tests hold the paths to the same verdicts.
_FAST_PREFIX = CANONICAL_PREFIX + "?"
_FAST_QUERY = re.compile(r"\(filters%3AList\(\(type%3A(.*)\)\)\)\Z")
_FILTER_SEPARATOR = ")%2C(type%3A"  # between two filters; no escaped atom can hold it
_FAST_URL_HEAD = f"{CANONICAL_PREFIX}?query=(filters%3AList("


def _validate_fast(text: str, raw: str) -> Verdict | None:
    if not raw.startswith(_FAST_PREFIX) or "#" in raw:
        return None
    query = None
    for piece in raw[len(_FAST_PREFIX) :].split("&"):
        key, _, value = piece.partition("=")
        if key == "query" and query is None:
            query = value
        elif key not in NOISE_PARAMS:
            return None
    if query is None or ":" in query:  # only the fully escaped shape Sales Navigator writes
        return None
    found = _FAST_QUERY.match(query)
    if found is None:
        return None
    pieces = found.group(1).split(_FILTER_SEPARATOR)
    cache = _FRAGMENTS
    try:
        looked_up = [cache[p] for p in pieces]
    except KeyError:
        looked_up = [_fragment(p) for p in pieces]
    if None in looked_up:
        return None
    decoded = cast(list[_Fragment], looked_up)
    if len(decoded) > 1:
        decoded.sort(key=_BY_TYPE)
        if len({d[0] for d in decoded}) != len(decoded):
            return None  # a type twice: the full path says what to say
    url = _FAST_URL_HEAD + "%2C".join([d[2] for d in decoded]) + "))"
    return Verdict(text, "ok", "Company search.", url, [d[1] for d in decoded])


# Decoded filters by their text between "(type%3A" and ")": type, canonical form, canonical text.
_Fragment = tuple[str, Filter, str]
_FRAGMENTS: dict[str, _Fragment | None] = {}
_FRAGMENTS_KEPT = 30_000
_BY_TYPE: Callable[[_Fragment], str] = operator.itemgetter(0)
_UNSEEN = object()


def _fragment(piece: str) -> _Fragment | None:
    """One filter as found in the address bar (without its "(type%3A" and last ")")."""
    seen = _FRAGMENTS.get(piece, _UNSEEN)  # one lookup: another thread may clear the cache
    if seen is not _UNSEEN:
        return cast(_Fragment | None, seen)
    found = _values_fragment(piece)
    if found is None:
        found = _any_fragment(piece)
    if found is not None and found[0] not in FILTER_NAMES:
        found = None  # an unfamiliar type: the full path says what to say
    if len(_FRAGMENTS) >= _FRAGMENTS_KEPT:
        _FRAGMENTS.clear()
    _FRAGMENTS[piece] = found
    return found


def _any_fragment(piece: str) -> _Fragment | None:
    try:
        query = parse_query(f"(filters%3AList((type%3A{piece})))")
    except QuerySyntaxError:
        return None
    found = query.get("filters")
    if set(query) != {"filters"} or not isinstance(found, list) or len(found) != 1:
        return None
    canonical = _canonical_filter(_filter_from_restli(found[0]))
    if canonical.raw is not None:
        return None
    return canonical.type, canonical, _quote_structure(_filter_restli_text(canonical))


# An atom as Sales Navigator writes it: unreserved characters, and escapes escaped once more.
_ATOM = r"(?:[A-Za-z0-9_.~-]|%25[0-9A-F]{2})+"


def _value_item(group: str) -> str:
    """One `(id%3A…%2Ctext%3A…%2CselectionType%3A…)`; `group` is "(" to capture, "(?:" not to."""
    return (
        rf"\(id%3A{group}{_ATOM})(?:%2Ctext%3A{group}{_ATOM}))?"
        rf"%2CselectionType%3A{group}INCLUDED|EXCLUDED)\)"
    )


_VALUE_ITEM = re.compile(_value_item("("))
_VALUES_SHAPE = re.compile(
    rf"([A-Z_]+)%2Cvalues%3AList\(((?:{_value_item('(?:')})(?:%2C{_value_item('(?:')})*)\)"
)


def _values_fragment(piece: str) -> _Fragment | None:
    """`type%3AT%2Cvalues%3AList((id%3A…%2Ctext%3A…%2CselectionType%3A…)…)`, by regex."""
    shape = _VALUES_SHAPE.fullmatch(piece)
    if shape is None:
        return None
    ftype = shape.group(1)
    values = tuple(
        FilterValue(_unescape_twice(vid), _unescape_twice(vtext) if vtext else None, selection)
        for vid, vtext, selection in _VALUE_ITEM.findall(shape.group(2))
    )
    canonical = _canonical_filter(Filter(ftype, values))
    items = "%2C".join(
        f"(id%3A{_escaped_atom(v.id)}"
        + ("" if v.text is None else f"%2Ctext%3A{_escaped_atom(v.text)}")
        + f"%2CselectionType%3A{_escaped_atom(v.selection)})"
        for v in canonical.values
    )
    return ftype, canonical, f"(type%3A{ftype}%2Cvalues%3AList({items}))"


def _unescape_twice(atom: str) -> str:
    return unquote(unquote(atom)) if "%" in atom else atom


def _escaped_atom(atom: str) -> str:
    """An atom as it stands in a canonical URL: `_quote_structure(_encode_atom(atom))`."""
    return atom if _PLAIN.fullmatch(atom) else _quote_structure(_encode_atom(atom))


def _filter_restli_text(f: Filter) -> str:
    return "(" + ",".join(f"{k}:{_to_restli(v)}" for k, v in f.to_restli().items()) + ")"


def _validate(text: str, raw: str) -> Verdict:
    if not raw:
        return _invalid(text, "Empty line: paste a Sales Navigator company-search URL.")
    notes: list[str] = []
    hyperlink = HYPERLINK.match(raw)
    if hyperlink:
        raw = hyperlink.group(1)
        notes.append("took the URL out of a HYPERLINK formula")
    elif raw[:1] in "=+-@":
        return _invalid(
            text, "This cell holds a spreadsheet formula, not a URL; paste the URL itself."
        )
    candidate = raw
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", candidate):
        if candidate.lower().startswith(("www.linkedin.com", "linkedin.com")) or re.match(
            r"^[a-z]{2}\.linkedin\.com", candidate.lower()
        ):
            candidate = "https://" + candidate
            notes.append("added the missing https://")
        else:
            return _invalid(
                text,
                "Not a URL. Paste a Sales Navigator company-search URL "
                "(https://www.linkedin.com/sales/search/company?query=…).",
            )
    parts = urlsplit(candidate)
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("http", "https"):
        return _invalid(text, f"'{parts.scheme}://' is not a web address; use https://.")
    if not (host == "linkedin.com" or host.endswith(".linkedin.com")):
        return _invalid(
            text, f"{host or 'This address'} is not LinkedIn; paste a Sales Navigator URL."
        )
    if host != "linkedin.com" and not re.fullmatch(r"(www|[a-z]{2})\.linkedin\.com", host):
        return _invalid(text, f"{host} is not a Sales Navigator host; use www.linkedin.com.")
    if parts.scheme.lower() == "http":
        notes.append("switched http:// to https://")
    path = parts.path.rstrip("/")
    fragment = parts.fragment
    if path.startswith("/sales/search/people"):
        return _invalid(
            text,
            "This is a people search (/sales/search/people); NavMetrics measures company "
            "searches (/sales/search/company). Rebuild it as an account search.",
        )
    if path == "/sales/search/companies":
        return _invalid(
            text,
            "This is the oldest company-search format (/sales/search/companies), which Sales "
            "Navigator no longer opens. Run the search again in Sales Navigator and copy the new URL.",
        )
    if path != "/sales/search/company":
        for prefix, what in OTHER_SALES_PAGES.items():
            if path.startswith(prefix):
                return _invalid(
                    text,
                    f"This is {what} ({prefix}), not a company search. Open an account search in "
                    "Sales Navigator and copy its URL.",
                )
        if path.startswith("/sales"):
            return _invalid(
                text, f"{path} is not a company search; copy the URL of an account search."
            )
        return _invalid(
            text,
            "This LinkedIn page is not a Sales Navigator company search (/sales/search/company).",
        )
    query_string = parts.query
    if not query_string and fragment.startswith("query="):
        query_string = fragment  # older links kept the query after '#'
        notes.append("moved the query out of the '#' fragment")
    params = _raw_params(query_string)
    kept = [(k, v) for k, v in params if k not in NOISE_PARAMS]
    by_key: dict[str, str] = {}
    for k, v in kept:
        by_key.setdefault(k, v)
    if "query" in by_key:
        return _from_query(text, by_key, notes)
    if "savedSearchId" in by_key:
        sid = unquote(by_key["savedSearchId"])
        if not sid.isdigit():
            return _invalid(text, f"savedSearchId={sid!r} is not a number; copy the URL again.")
        return Verdict(
            input=text,
            status="warning",
            message=_join(
                notes,
                "Saved-search ids resolve only for the Sales Navigator seat that saved them, and "
                "the filters behind an id can change; prefer the search's full URL.",
            ),
            url=f"{CANONICAL_PREFIX}?savedSearchId={sid}",
            saved_search_id=sid,
        )
    legacy = [(k, v) for k, v in kept if k in LEGACY_PARAMS]
    if legacy:
        return _from_legacy(text, kept, notes)
    if kept:
        names = ", ".join(sorted({k for k, _ in kept}))
        return _invalid(
            text,
            f"No search filters found (only {names}). Copy the URL after running the search.",
        )
    return _invalid(
        text,
        "This company-search URL has no filters (nothing after /sales/search/company), so Edges "
        "refuses it. Copy the URL after choosing at least one filter.",
    )


def _join(notes: list[str], message: str) -> str:
    return message + (f" (NavMetrics {'; '.join(notes)}.)" if notes else "")


def _from_query(text: str, by_key: dict[str, str], notes: list[str]) -> Verdict:
    try:
        query = parse_query(by_key["query"])
    except QuerySyntaxError as exc:
        return _invalid(
            text,
            f"The query= part cannot be read ({exc}); the URL was probably cut short. "
            "Copy it again from the address bar.",
        )
    for key in QUERY_NOISE_KEYS:
        query.pop(key, None)
    raw_filters = query.get("filters", [])
    if not isinstance(raw_filters, list):
        raw_filters = [raw_filters]
    filters = sorted(
        (_canonical_filter(_filter_from_restli(f)) for f in raw_filters), key=lambda f: f.type
    )
    keywords = query.get("keywords")
    keywords = str(keywords) if keywords not in (None, "") else None
    canonical: dict[str, Any] = {}
    if filters:
        canonical["filters"] = [f.to_restli() if f.raw is None else f.raw for f in filters]
    if keywords:
        canonical["keywords"] = keywords
    for key, value in sorted(query.items()):
        if key not in ("filters", "keywords"):
            canonical[key] = value  # spellCorrectionEnabled and anything new: kept, it may matter
    if not filters and not keywords:
        return _invalid(
            text, "The query has no filters and no keywords; choose at least one filter."
        )
    status: Status = "ok"
    message = "Company search."
    people = sorted({f.type for f in filters} & PEOPLE_FILTER_TYPES)
    unknown = sorted(
        {f.type for f in filters} - set(FILTER_NAMES) - PEOPLE_FILTER_TYPES - {"UNKNOWN"}
    )
    if people:
        status = "warning"
        message = (
            f"Carries people-search filters ({', '.join(people)}); check it is the account search "
            "you meant."
        )
    elif unknown:
        message = (
            f"Company search; filters NavMetrics does not know are kept raw: {', '.join(unknown)}."
        )
    if notes and status == "ok":
        status = "warning"
    url = f"{CANONICAL_PREFIX}?query={_encode_canonical(canonical, filters)}"
    return Verdict(
        input=text,
        status=status,
        message=_join(notes, message),
        url=url,
        filters=filters,
        keywords=keywords,
    )


def _encode_canonical(canonical: dict[str, Any], filters: list[Filter]) -> str:
    parts = []
    for key, value in canonical.items():
        if key == "filters":
            items = [
                _filter_restli_text(f) if f.raw is None else quote(f.raw, safe="") for f in filters
            ]
            parts.append("filters:List(" + ",".join(items) + ")")
        else:
            parts.append(f"{key}:{_to_restli(value)}")
    return _quote_structure("(" + ",".join(parts) + ")")


def _from_legacy(text: str, kept: list[tuple[str, str]], notes: list[str]) -> Verdict:
    grouped: dict[str, list[FilterValue]] = {}
    for key, value in kept:
        if key not in LEGACY_PARAMS:
            continue
        ftype, selection = LEGACY_PARAMS[key]
        for vid in unquote(value).split(","):
            if vid.strip():
                grouped.setdefault(ftype, []).append(FilterValue(vid.strip(), None, selection))
    filters = sorted(
        (_canonical_filter(Filter(t, tuple(vs))) for t, vs in grouped.items()),
        key=lambda f: f.type,
    )
    others = sorted((k, v) for k, v in kept)
    query_string = "&".join(f"{quote(k, safe='')}={v}" for k, v in others)
    return Verdict(
        input=text,
        status="warning",
        message=_join(
            notes,
            "Older flat URL format (companySize=…, geoIncluded=…): accepted, but Sales Navigator "
            "may read it differently; re-copy the search for the current format.",
        ),
        url=f"{CANONICAL_PREFIX}?{query_string}",
        filters=filters,
    )


def validate_many(texts: Iterable[str]) -> Iterator[Verdict]:
    """`validate` over a long list, with the cyclic garbage collector paused meanwhile (verdicts
    hold no reference cycles, and collecting while 100,000 of them pile up costs a third of the
    time)."""
    with gc_paused():
        for text in texts:
            yield validate(text)


# A value's label in a canonical URL: escaped characters only, up to the selection or the ")".
_LABEL_IN_URL = re.compile(
    r"%2Ctext%3A(?:[A-Za-z0-9_.~-]|%25[0-9A-F]{2}|%27)*(?=%2CselectionType|\))"
)


def identity(url: str) -> str:
    """What makes a canonical URL the search it is: the URL without its values' labels.

    A value's `text` "is only the label the URL was made with" (URLS.md): copies made in another
    interface language, or before LinkedIn renamed a label, are the same search.
    """
    return _LABEL_IN_URL.sub("", url) if "%2Ctext%3A" in url else url


def normalise(text: str) -> str | None:
    """The canonical URL of a search, or None when it is not a usable company search."""
    return validate(text).url


def build_url(filters: list[Filter], keywords: str | None = None) -> str:
    """Encode filters into a company-search URL the way Sales Navigator writes it."""
    query: dict[str, Any] = {}
    if filters:
        query["filters"] = [f.to_restli() for f in filters]
    if keywords:
        query["keywords"] = keywords
    return f"{CANONICAL_PREFIX}?query={encode_query(query)}"
