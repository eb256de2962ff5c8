"""A 100,000-line CSV validated, normalised and decoded, against pandas.read_csv of the same file.

Each side runs in its own process so its peak memory (max RSS) is its own. Prints seconds, peak
memory and the ratio (goal <= 3x the time of pandas.read_csv, <= 500 MB).

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
if which == "pandas":
    import pandas
    frame = pandas.read_csv(path)
    rows = len(frame)
else:
    from navmetrics import intake, urls
    found = intake.read_path(path)
    verdicts = list(urls.validate_many(row.text for row in found.rows))
    rows = sum(1 for v in verdicts if v.url)
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mb": peak, "rows": rows}))
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
        ours = measure("navmetrics", path)
    distinct = (
        "every row its own region" if not args.regions else f"regions from {args.regions:,} ids"
    )
    print(f"{args.rows:,} rows, {size:.0f} MB CSV ({distinct})")
    print(f"pandas.read_csv              {base['seconds']:7.2f} s  peak {base['peak_mb']:6.0f} MB")
    print(
        f"navmetrics read+validate     {ours['seconds']:7.2f} s  peak {ours['peak_mb']:6.0f} MB"
        f"  ({ours['rows']:,.0f} valid)"
    )
    print(
        f"ratio                        {ours['seconds'] / base['seconds']:7.2f}  (goal <= 3, <= 500 MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
