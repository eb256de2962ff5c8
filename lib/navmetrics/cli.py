"""`navmetrics …`: a thin command layer over the library (the pages are the other face)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from navmetrics import config, exports, intake, runs, store, urls
from navmetrics.edges import EdgesClient, EdgesError, EdgesNetworkError, SubmissionUnknown
from navmetrics.servers import PortTaken, serve_forever


def _settings(args: argparse.Namespace) -> config.Settings:
    settings = config.load_settings()
    if getattr(args, "db", None):
        settings = settings.with_overrides(db_path=Path(args.db))
    return settings


def _fail(message: str, code: int = 1) -> int:
    print(f"navmetrics: {message}", file=sys.stderr)
    return code


def cmd_simulator(args: argparse.Namespace) -> int:
    from navmetrics.simulator import Faults, SimulatorConfig, create_simulator_app

    faults = Faults(
        fail_share=args.fail_share,
        fail_first_deliveries=args.fail_first,
        duplicate_share=args.duplicate_share,
        shuffle=args.shuffle,
        delivery_delay=args.delay,
        lose_share=args.lose_share,
        slow_answers=args.slow,
        rate_limit_submissions=args.rate_limit,
        error_after_create=args.error_after_create,
    )
    sim_config = SimulatorConfig(
        seed=args.seed, pace=args.pace, control=args.control, faults=faults
    )
    app = create_simulator_app(sim_config, api_key=args.api_key)
    serve_forever(app, args.host, args.port, "Edges simulator", "--port")
    return 0


def cmd_receiver(args: argparse.Namespace) -> int:
    from navmetrics.receiver import create_receiver_app

    configured = _settings(args)
    settings = config.ensure_callback_token(configured)
    # A token set in the environment is fixed; a generated one is re-read when it is rotated.
    app = create_receiver_app(
        settings.db_path, config.TokenSource(settings.db_path, configured.callback_token)
    )
    print(
        f"navmetrics: receiver for {settings.db_path} on http://{args.host}:{args.port}/callbacks "
        f"(token {config.mask(settings.callback_token)}; see {config.token_file(settings.db_path)})",
        file=sys.stderr,
    )
    serve_forever(app, args.host, args.port, "callback receiver", "--port")
    return 0


def read_rows(path: str) -> list[intake.Row]:
    """The rows of a list file (TXT, CSV, TSV or XLSX; '-' reads standard input)."""
    if path == "-":
        return intake.read_bytes(sys.stdin.buffer.read(), "standard input").rows
    return intake.read_path(path).rows


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        found = intake.read_path(args.file) if args.file != "-" else None
        rows = found.rows if found else read_rows("-")
    except intake.IntakeError as exc:
        return _fail(str(exc), 2)
    for warning in found.warnings if found else []:
        print(f"navmetrics: {warning}", file=sys.stderr)
    counts = {"ok": 0, "warning": 0, "invalid": 0}
    encode = json.JSONEncoder(ensure_ascii=False).encode  # one encoder for 100,000 lines
    out = sys.stdout
    for row, verdict in zip(rows, urls.validate_many(r.text for r in rows), strict=True):
        counts[verdict.status] += 1
        if args.json:
            out.write(encode(verdict.as_json(row.line)) + "\n")
        else:
            out.write(f"{row.line}\t{verdict.status}\t{verdict.label or ''}\t{verdict.message}\n")
    print(
        f"navmetrics: {counts['ok']:,} ok, {counts['warning']:,} warning, "
        f"{counts['invalid']:,} invalid",
        file=sys.stderr,
    )
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    settings = config.ensure_callback_token(_settings(args))
    db = store.open_db(settings.db_path)
    if args.file:
        try:
            report = store.save_searches(db, read_rows(args.file))
        except intake.IntakeError as exc:
            return _fail(str(exc), 2)
        print(f"navmetrics: {report.summary()}", file=sys.stderr)
        ids = report.ids
    else:
        frame = store.searches_frame(db)
        ids = [
            int(i)
            for i, tags in zip(frame["id"], frame["tags"], strict=True)
            if args.tag in store.split_tags(tags)
        ]
    if not ids:
        return _fail("nothing to submit: no valid saved search matched")
    try:
        plan = runs.plan_for(
            settings,
            ids,
            name=args.name,
            identity_mode=args.identity_mode,
            identity_ids=args.identity_id,
            callback_on=args.on,
        )
        print(f"navmetrics: {plan.describe()}", file=sys.stderr)
        with EdgesClient(settings.effective_base_url, settings.effective_api_key) as client:
            if args.schedule:
                print(runs.schedule(db, client, plan, cron=args.schedule, timezone=args.timezone))
                return 0
            result = runs.submit(db, client, plan)
    except (ValueError, EdgesError, EdgesNetworkError, SubmissionUnknown) as exc:
        return _fail(str(exc))
    for uid in result.run_uids:
        print(uid)
    for name in result.unknown:
        print(
            f"navmetrics: '{name}': the answer was lost and Edges does not list the run yet; "
            "`navmetrics sync` looks for it again (send again only if it never appears)",
            file=sys.stderr,
        )
    return 0 if not result.unknown else 1


def cmd_sync(args: argparse.Namespace) -> int:
    from navmetrics import sync

    settings = _settings(args)
    db = store.open_db(settings.db_path)
    with EdgesClient(settings.effective_base_url, settings.effective_api_key) as client:
        try:
            report = sync.sync(db, client, [args.run_uid] if args.run_uid else None)
        except EdgesNetworkError as exc:
            return _fail(str(exc))
    print(report.summary())
    return 0 if not report.problems else 1


def cmd_export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        db = store.open_db(settings.db_path)
    except store.StoreError as exc:
        return _fail(str(exc), 2)
    frame = exports.observations_for_export(db)
    if args.format == "json":
        text = frame.to_json(orient="records", force_ascii=False, indent=None, date_format="iso")
    else:
        buffer = io.StringIO()
        exports.safe_for_spreadsheets(frame).to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL)
        text = buffer.getvalue()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"navmetrics: {len(frame)} observations written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_breakdown(args: argparse.Namespace) -> int:
    from navmetrics import breakdown

    try:
        dimensions = [breakdown.parse_spec(spec) for spec in args.by]
        cells = breakdown.breakdown(args.url, *dimensions)
    except breakdown.BreakdownError as exc:
        return _fail(str(exc), 2)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["label", "url"])
    for cell in cells:
        writer.writerow([exports.neutralise(cell.label), cell.url])
    if args.output:
        Path(args.output).write_text(buffer.getvalue(), encoding="utf-8")
        print(f"navmetrics: {len(cells)} cells written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(buffer.getvalue())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="navmetrics",
        description="Measure LinkedIn Sales Navigator company searches through the Edges API.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser("simulator", help="run the local Edges API simulator")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=config.SIMULATOR_PORT)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--pace", type=float, default=0.02, help="seconds per input (default 0.02)")
    sim.add_argument("--api-key", default=None, help="accept only this key (default: any)")
    sim.add_argument("--control", action="store_true", help="enable /_control (tests only)")
    sim.add_argument("--fail-share", type=float, default=0.0, help="share of inputs that fail")
    sim.add_argument("--fail-first", type=int, default=0, help="failed deliveries before success")
    sim.add_argument("--duplicate-share", type=float, default=0.0, help="callbacks sent twice")
    sim.add_argument("--shuffle", action="store_true", help="finish inputs in random order")
    sim.add_argument("--delay", type=float, default=0.0, help="seconds before each delivery")
    sim.add_argument("--lose-share", type=float, default=0.0, help="callbacks held until replayed")
    sim.add_argument("--slow", type=float, default=0.0, help="seconds added to every answer")
    sim.add_argument("--rate-limit", type=int, default=0, help="first N submissions get 429")
    sim.add_argument(
        "--error-after-create", type=int, default=0, help="N submissions: 500 after create"
    )
    sim.set_defaults(func=cmd_simulator)

    rec = sub.add_parser("receiver", help="run the callback receiver alone")
    rec.add_argument("--host", default="127.0.0.1")
    rec.add_argument("--port", type=int, default=config.RECEIVER_PORT)
    rec.add_argument("--db", help="database file (default NAVMETRICS_DB or data/navmetrics.db)")
    rec.set_defaults(func=cmd_receiver)

    val = sub.add_parser("validate", help="check a file of URLs, one verdict per line")
    val.add_argument("file", help="a text file of URLs, or - for standard input")
    val.add_argument("--json", action="store_true", help="one JSON object per input line")
    val.set_defaults(func=cmd_validate)

    sbm = sub.add_parser("submit", help="send saved searches to Edges as a run")
    what = sbm.add_mutually_exclusive_group(required=True)
    what.add_argument("file", nargs="?", help="a file of URLs to save and submit")
    what.add_argument("--tag", help="submit every saved search with this tag")
    sbm.add_argument("--name", default="NavMetrics run")
    sbm.add_argument("--on", choices=["all", "final"], default="all")
    sbm.add_argument("--identity-mode", choices=["direct", "auto", "managed"], default="auto")
    sbm.add_argument("--identity-id", action="append", default=[], metavar="ID")
    sbm.add_argument(
        "--schedule", metavar="CRON", help="recurring: a 5-field cron, e.g. '0 9 * * 1'"
    )
    sbm.add_argument("--timezone", default="UTC", help="IANA time zone of the cron (default UTC)")
    sbm.add_argument("--db")
    sbm.set_defaults(func=cmd_submit)

    syn = sub.add_parser("sync", help="pull what runs produced and callbacks missed")
    syn.add_argument("run_uid", nargs="?")
    syn.add_argument("--db")
    syn.set_defaults(func=cmd_sync)

    brk = sub.add_parser("breakdown", help="split a search into market-map cells (CSV of URLs)")
    brk.add_argument("url", help="the base company-search URL")
    brk.add_argument(
        "--by",
        action="append",
        required=True,
        metavar="DIM[=IDS]",
        help="headcount, revenue, followers, industry=4,27 or region=103644278,… (region alone: "
        "the largest European countries); once or twice",
    )
    brk.add_argument("--output", help="CSV file to write (default: standard output)")
    brk.set_defaults(func=cmd_breakdown)

    exp = sub.add_parser("export", help="write every observation as CSV or JSON")
    exp.add_argument("--db")
    exp.add_argument("--format", choices=["csv", "json"], default="csv")
    exp.add_argument("--output", help="file to write (default: standard output)")
    exp.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PortTaken as exc:
        return _fail(str(exc))
    except (config.ConfigError, store.StoreError) as exc:
        return _fail(str(exc), 2)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
