"""Market maps: one saved search split along one or two dimensions, a cell per value.

Each cell is a company-search URL with the base search's other filters unchanged and the chosen
dimension's filter replaced by the cell's value, encoded the way Sales Navigator encodes it, so it
opens in Sales Navigator, passes `validate`, and decodes back to exactly the intended filters.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pandas as pd

from navmetrics import urls

MAX_CELLS = 400
REVENUE_BANDS = [
    ("0", "1"),
    ("1", "10"),
    ("10", "50"),
    ("50", "100"),
    ("100", "500"),
    ("500", "1000"),
    ("1000", None),
]
EUROPE_LARGEST = {
    "101282230": "Germany",
    "101165590": "United Kingdom",
    "105015875": "France",
    "103350119": "Italy",
    "105646813": "Spain",
    "102890719": "Netherlands",
    "105072130": "Poland",
    "105117694": "Sweden",
}
DIMENSIONS = {
    "headcount": "COMPANY_HEADCOUNT",
    "region": "REGION",
    "industry": "INDUSTRY",
    "revenue": "ANNUAL_REVENUE",
    "followers": "NUM_OF_FOLLOWERS",
}


class BreakdownError(ValueError):
    """The breakdown cannot be made as asked; the message says what to change."""


@dataclass(frozen=True)
class Cell:
    """One value of one dimension: the filter that replaces the base's filter of that type."""

    dimension: str
    value: str
    label: str
    filter: urls.Filter


def cells_of(
    dimension: str, values: list[str] | None = None, labels: dict[str, str] | None = None
) -> list[Cell]:
    """The cells of one dimension: all its bands, or the values given (region, industry)."""
    ftype = DIMENSIONS.get(dimension)
    if ftype is None:
        raise BreakdownError(
            f"Unknown dimension '{dimension}'; use one of {', '.join(DIMENSIONS)}."
        )
    labels = labels or {}
    if dimension == "headcount":
        chosen = values or list(urls.HEADCOUNT)
        unknown = [v for v in chosen if v not in urls.HEADCOUNT]
        if unknown:
            raise BreakdownError(f"Headcount bands are B to I; not {', '.join(unknown)}.")
        return [_value_cell(dimension, ftype, v, urls.HEADCOUNT[v]) for v in chosen]
    if dimension == "followers":
        chosen = values or list(urls.FOLLOWERS)
        return [_value_cell(dimension, ftype, v, urls.FOLLOWERS.get(v, v)) for v in chosen]
    if dimension == "revenue":
        cells = []
        for low, high in REVENUE_BANDS:
            label = f"${low}M+" if high is None else f"${low}M-{high}M"
            cells.append(
                Cell(
                    dimension,
                    f"{low}-{high or ''}",
                    label,
                    urls.Filter(ftype, range_min=low, range_max=high, sub_filter="USD"),
                )
            )
        return cells
    if dimension == "region" and not values:
        values, labels = list(EUROPE_LARGEST), {**EUROPE_LARGEST, **labels}
    if not values:
        raise BreakdownError(f"Name the {dimension} values to split by (LinkedIn ids).")
    known = urls.KNOWN_VALUE_LABELS.get(ftype, {})
    return [_value_cell(dimension, ftype, v, labels.get(v) or known.get(v) or v) for v in values]


def _value_cell(dimension: str, ftype: str, value: str, label: str) -> Cell:
    return Cell(dimension, value, label, urls.Filter(ftype, (urls.FilterValue(value, label),)))


@dataclass(frozen=True)
class MapCell:
    url: str
    label: str
    first: Cell
    second: Cell | None


def breakdown(base_url: str, *dimensions: list[Cell], cap: int = MAX_CELLS) -> list[MapCell]:
    """Every cell of the cross product of the dimensions, as a company-search URL."""
    verdict = urls.validate(base_url)
    if verdict.url is None:
        raise BreakdownError(f"The base search is not usable: {verdict.message}")
    if verdict.saved_search_id:
        raise BreakdownError("A saved-search id cannot be broken down: use the search's full URL.")
    if not 1 <= len(dimensions) <= 2:
        raise BreakdownError("Break a search down along one or two dimensions.")
    types = [d[0].filter.type for d in dimensions if d]
    if len(set(types)) != len(types):
        raise BreakdownError("Choose two different dimensions.")
    count = 1
    for cells in dimensions:
        count *= len(cells)
    if count > cap:
        raise BreakdownError(
            f"This breakdown has {count:,} cells; the most is {cap:,}. Pick fewer values."
        )
    base_filters = [f for f in verdict.filters if f.type not in types]
    base_label = urls.make_label(base_filters, verdict.keywords)
    out = []
    for combo in itertools.product(*dimensions):
        filters = sorted([*base_filters, *(c.filter for c in combo)], key=lambda f: f.type)
        url = urls.normalise(urls.build_url(filters, verdict.keywords))
        assert url is not None
        label = " · ".join([base_label, *(c.label for c in combo)])
        out.append(MapCell(url, label, combo[0], combo[1] if len(combo) > 1 else None))
    return out


def map_table(cells: pd.DataFrame, *, change_days: int = 7) -> pd.DataFrame:
    """Per cell: its latest size, and the change since the measurement `change_days` before."""
    ok = cells[cells["total_results"].notna()].sort_values("observed_at")
    base = cells.drop_duplicates("search_id")[
        ["search_id", "first_label", "second_label", "position", "label", "url"]
    ]
    if ok.empty:
        empty = pd.Series([float("nan")] * len(base), index=base.index, dtype="Float64")
        return base.assign(
            total_results=empty,
            change=empty,
            change_pct=empty,
            observed_at=pd.Series(pd.NaT, index=base.index, dtype="datetime64[ns, UTC]"),
        )
    latest = ok.groupby("search_id").tail(1).set_index("search_id")
    cutoff = latest["observed_at"] - pd.Timedelta(days=change_days) + pd.Timedelta(hours=12)
    earlier = ok[ok["observed_at"] <= ok["search_id"].map(cutoff)]
    before = earlier.groupby("search_id").tail(1).set_index("search_id")["total_results"]
    table = base.set_index("search_id")
    table["total_results"] = latest["total_results"]
    table["observed_at"] = latest["observed_at"]
    table["change"] = table["total_results"] - before.reindex(table.index)
    table["change_pct"] = (
        (table["change"] / before.reindex(table.index) * 100).astype("Float64").round(2)
    )
    return table.reset_index().sort_values("position")


def reconcile(table: pd.DataFrame, base_total: int | None, dimensions: list[str]) -> str:
    """The base search's own total beside the sum of its cells, with the difference explained."""
    measured = table["total_results"].dropna()
    if base_total is None or measured.empty:
        return "Measure the base search and the cells to compare their totals."
    total = int(measured.sum())
    gap = total - base_total
    pct = gap / base_total * 100 if base_total else 0.0
    partition = {"headcount", "revenue", "followers"}
    if len(measured) < len(table):
        why = f"{len(table) - len(measured)} cell(s) are not measured yet."
    elif set(dimensions) <= partition and abs(pct) <= 1:
        why = "The bands cover every company once, so the sum matches the base up to rounding."
    elif set(dimensions) <= partition:
        why = (
            "The bands overlap nothing, so a gap this size flags rounding or capping by LinkedIn, "
            "or a base that already filters on this dimension."
        )
    else:
        why = "Regions and industries picked by hand need not cover the whole base search."
    return f"Base search: {base_total:,}. Sum of cells: {total:,} ({gap:+,}, {pct:+.1f}%). {why}"


def parse_spec(spec: str) -> list[Cell]:
    """`headcount`, `region=103644278,101165590`, `region=europe`: one dimension's cells."""
    name, _, raw = spec.partition("=")
    name = name.strip().lower()
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if name == "region" and values == ["europe"]:
        values = []
    return cells_of(name, values or None)


@dataclass
class MapPlan:
    """What measuring a map costs, said before anything is sent."""

    cells: int
    reused: int
    to_send: int
    cost_factor: float

    def describe(self) -> str:
        factor = " (managed identities: ×1.5)" if self.cost_factor != 1 else ""
        return (
            f"{self.cells} cells; {self.reused} measured in the last 7 days are reused; "
            f"{self.to_send} searches to send (the base search included when it needs a fresh "
            f"measurement), costing {self.to_send * self.cost_factor:g} input credits{factor}. "
            "Edges does not publish this action's credit rate; runs that return nothing are "
            "not charged."
        )


def plan_measurement(
    cell_ids: list[int | None], base_id: int, recent: set[int], cost_factor: float
) -> MapPlan:
    """Cells not saved yet, or saved but not measured recently, are sent; the rest reused."""
    reused = sum(1 for i in cell_ids if i is not None and i in recent)
    to_send = len(cell_ids) - reused + (0 if base_id in recent else 1)
    return MapPlan(len(cell_ids), reused, to_send, cost_factor)
