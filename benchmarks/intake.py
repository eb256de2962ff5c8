"""A 100,000-line CSV validated, normalised and decoded, against pandas.read_csv of the same file.

Each side runs in its own process so its peak memory (max RSS) is its own. Prints the import and
the work apart, peak memory, and two ratios: the work alone (the goal: <= 3x the time of
pandas.read_csv, <= 500 MB), and with each side's import counted, as a fresh process pays it.
pandas 3 reads the file into Arrow strings without a Python object per cell, so its read_csv is
about a tenth of its import; the first ratio is the honest one. For scale, the script also reads
the file with dtype=object, a Python string per cell, as NavMetrics' rows hold them. The
NavMetrics side reads the file, validates, normalises and decodes every line, and words each
valid search's label. Last, the whole import the Searches page runs (read, check, save into a new
library) beside reading the file and writing its rows to SQLite bare (read_csv + to_sql).

    python benchmarks/intake.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from navmetrics import urls

MEASURE = r"""
import json, resource, sys, time
which, path = sys.argv[1], sys.argv[2]
started = time.perf_counter()
if which.startswith("pandas"):
    import sqlite3
    import pandas
elif which == "navmetrics-save":
    from navmetrics import intake, store
else:
    from navmetrics import intake, urls
imported = time.perf_counter()
if which == "pandas":
    frame = pandas.read_csv(path)
    rows = len(frame)
elif which == "pandas-objects":
    frame = pandas.read_csv(path, dtype=object)
    rows = len(frame)
elif which == "pandas-sql":  # the bare equivalent of an import: read the file, write its rows
    frame = pandas.read_csv(path)
    with sqlite3.connect(path + ".bare.db") as conn:
        rows = frame.to_sql("searches", conn, index=False)
elif which == "navmetrics-save":  # what the Searches page does with an uploaded list
    db = store.open_db(path + ".navmetrics.db", durable=False)
    rows = store.save_searches(db, intake.read_path(path).rows).new
else:
    found = intake.read_path(path)
    verdicts = list(urls.validate_many(row.text for row in found.rows))
    labels = [v.label for v in verdicts if v.url]  # the segment names the library shows
    rows = len(labels)
done = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"import": imported - started, "seconds": done - imported, "peak_mb": peak, "rows": rows}))
"""


def make_file(path: Path, rows: int, *, regions: int = 5_000) -> None:
    """Realistic searches: industry x headcount bands x region x sometimes revenue.

    Regions come from a pool of `regions` geo ids (LinkedIn has a few thousand; `--regions 0` gives
    every row a region of its own, the worst case for the decoder's per-filter cache).
    """
    rng = random.Random(1)
    bands = list(urls.HEADCOUNT)
    with path.open("w", encoding="utf-8") as out:
        out.write("label,url,tags\n")
        for i in range(rows):
            region = rng.randrange(regions) if regions else i
            filters = [
                urls.Filter("INDUSTRY", (urls.FilterValue(str(rng.randint(1, 3000))),)),
                urls.Filter(
                    "COMPANY_HEADCOUNT",
                    tuple(
                        urls.FilterValue(b, urls.HEADCOUNT[b])
                        for b in rng.sample(bands, rng.randint(1, 3))
                    ),
                ),
                urls.Filter(
                    "REGION", (urls.FilterValue(str(100_000_000 + region), f"Region {region}"),)
                ),
            ]
            if rng.random() < 0.3:
                filters.append(
                    urls.Filter(
                        "ANNUAL_REVENUE",
                        range_min="1",
                        range_max=str(rng.randint(2, 500)),
                        sub_filter="USD",
                    )
                )
            url = urls.build_url(filters) + f"&sessionId={rng.getrandbits(64):x}%3D%3D"
            out.write(f"segment {i},{url},bench\n")


def measure(which: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, which, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--regions", type=int, default=5_000, help="size of the region pool (0: unique)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "searches.csv"
        make_file(path, args.rows, regions=args.regions)
        size = path.stat().st_size / 1e6
        base = measure("pandas", path)
        objects = measure("pandas-objects", path)
        ours = measure("navmetrics", path)
        bare_save = measure("pandas-sql", path)
        save = measure("navmetrics-save", path)
    distinct = (
        "every row its own region" if not args.regions else f"regions from {args.regions:,} ids"
    )
    print(f"{args.rows:,} rows, {size:.0f} MB CSV ({distinct})")
    print(f"{'':28} {'import':>8} {'read':>8} {'peak':>8}")
    sides = (
        ("pandas.read_csv", base),
        ("  same, dtype=object", objects),
        ("navmetrics read+validate", ours),
    )
    for name, got in sides:
        print(
            f"{name:28} {got['import']:7.2f}s {got['seconds']:7.2f}s {got['peak_mb']:6.0f}MB"
            f"  ({got['rows']:,.0f} rows{' valid' if got is ours else ''})"
        )
    warm = ours["seconds"] / base["seconds"]
    cold = (ours["import"] + ours["seconds"]) / (base["import"] + base["seconds"])
    print(f"ratio, both imported         {warm:7.2f}  (goal <= 3, <= 500 MB)")
    print(f"ratio, imports included      {cold:7.2f}")
    print(f"ratio to dtype=object        {ours['seconds'] / objects['seconds']:7.2f}")
    print("\nimport into the library (read, check, save in SQLite)")
    for name, got in (("read_csv + to_sql", bare_save), ("navmetrics save_searches", save)):
        print(
            f"{name:28} {got['seconds']:7.2f}s {got['peak_mb']:6.0f}MB  ({got['rows']:,.0f} rows)"
        )
    print(f"ratio                        {save['seconds'] / bare_save['seconds']:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
