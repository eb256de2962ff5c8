"""Reading lists of URLs from what analysts actually have: pasted text, CSV/TSV, TXT and XLSX.

Every problem is a message that says what to do; a partly bad file keeps its good rows. The URL
column is found by its header ("url", "link", "search"…) or, failing that, by its content.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from navmetrics import urls
from navmetrics.bulk import gc_paused

MAX_BYTES = 60_000_000
MAX_ROWS = 100_000
URL_HEADERS = ("sales_navigator_company_search_url", "url", "link", "search", "sales navigator")
EXTRA_COLUMNS = {
    "label": ("label", "name", "segment", "title"),
    "tags": ("tags", "tag"),
    "notes": ("notes", "note", "comment", "comments"),
}
LINKEDIN = re.compile(r"linkedin\.com", re.I)


class IntakeError(ValueError):
    """The whole input cannot be read; the message says what to do."""


@dataclass(slots=True)
class Row:
    line: int
    text: str
    label: str = ""
    tags: str = ""
    notes: str = ""
    other: str = ""  # the row's other cells, so a row without a URL is reported, not skipped


@dataclass
class Intake:
    rows: list[Row]
    warnings: list[str] = field(default_factory=list)
    source: str = "pasted text"


def decode(raw: bytes) -> tuple[str, list[str]]:
    """Text from bytes in any common encoding; BOMs honoured; a mixed file decoded line by line."""
    warnings: list[str] = []
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), warnings
    if b"\x00" in raw[:4096]:
        for encoding in ("utf-16-le", "utf-16-be"):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            if "linkedin" in text.lower() or "http" in text.lower():
                return text, warnings
        raise IntakeError(
            "This file looks binary (not text, CSV or XLSX). Export the sheet as CSV or XLSX and "
            "upload that."
        )
    try:
        return raw.decode("utf-8-sig"), warnings
    except UnicodeDecodeError:
        pass
    lines = []
    mixed = False
    for piece in raw.split(b"\n"):
        try:
            lines.append(piece.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(piece.decode("cp1252", errors="replace"))
            mixed = True
    if mixed:
        warnings.append(
            "Some lines were not UTF-8 and were read as Windows-1252; check their labels."
        )
    return "\n".join(lines).lstrip("\ufeff"), warnings


def read_text(text: str, source: str = "pasted text") -> Intake:
    """Pasted text or a TXT/CSV/TSV file's text."""
    if not text.strip():
        raise IntakeError(f"The {source} is empty: paste or upload at least one URL.")
    sample = "\n".join(text[:200_000].splitlines()[:50])
    delimiter = _delimiter(sample)
    if delimiter is None:
        rows = [Row(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        return _finished(Intake(rows, source=source))
    with gc_paused():
        records, warnings = _records(text, delimiter)
        found = _from_table(records, source)
    found.warnings[:0] = warnings
    return found


def _records(text: str, delimiter: str) -> tuple[list[tuple[int, list[str]]], list[str]]:
    """Each CSV record with the line it starts on, and warnings.

    Line ends of every kind (Windows, old Mac, Unix) count alike. Without a quote character,
    csv.reader and a plain split agree, and the split is twice as fast. Otherwise csv.reader
    reads, and a quote that never closes (which would swallow every row after it into one cell)
    is caught: the lines it swallowed are read again one by one, so the rows after it are kept.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if '"' not in text:
        return [(n, line.split(delimiter)) for n, line in enumerate(text.split("\n"), 1)], []
    csv.field_size_limit(max(csv.field_size_limit(), MAX_BYTES))
    lines = io.StringIO(text).readlines()
    reader = csv.reader(lines, delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    warnings: list[str] = []
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return records, warnings
        except csv.Error as exc:  # defensive: the reader's own complaints become a line's problem
            records.append((start, []))
            warnings.append(f"Line {start} could not be read as CSV ({exc}); it was skipped.")
            continue
        end = reader.line_num
        if end > start and _swallowed_rows(lines[start:end], delimiter):
            for n in range(start, end + 1):
                records.append((n, next(csv.reader([lines[n - 1]], delimiter=delimiter), [])))
            warnings.append(
                f'Line {start} opens a quote (") that does not close where it should; the '
                f"{end - start} lines after it were read one by one. Check the quotes in line "
                f"{start}."
            )
        else:
            records.append((start, record))


def _swallowed_rows(later_lines: list[str], delimiter: str) -> bool:
    """Whether a cell spanning lines holds what look like rows of their own (a stray quote)."""
    return any(delimiter in line and LINKEDIN.search(line) for line in later_lines)


def _delimiter(sample: str) -> str | None:
    """The CSV delimiter, or None for one URL a line (URLs themselves hold commas when decoded)."""
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        return None
    for delimiter in ("\t", ";", ",", "|"):
        counts = [_count_outside_urls(line, delimiter) for line in lines]
        if counts and min(counts) >= 1 and max(counts) == min(counts):
            return delimiter
    if all(LINKEDIN.search(line) or not line.strip() for line in lines):
        return None
    # A ragged CSV has commas on most lines; a chat message pasted whole, on a few of them.
    with_commas = sum(1 for line in lines if _count_outside_urls(line, ",") >= 1)
    return "," if with_commas * 2 >= len(lines) else None


def _count_outside_urls(line: str, delimiter: str) -> int:
    """Delimiters outside quoted cells and outside the URL itself."""
    line = re.sub(r'"[^"]*"', "", line)
    line = re.sub(r"https?://\S+?(?=[\t;,|]\S*https?://|[\t;|]|,(?![^\s,]*%)|$)", "URL", line)
    return line.count(delimiter)


def _from_table(records: list[tuple[int, list[str]]], source: str) -> Intake:
    """Rows of a sheet; each keeps the number of the line it came from (blank ones skipped)."""
    numbered = [(n, r) for n, r in records if any(r)]
    if not numbered:
        raise IntakeError(f"The {source} has no rows: it is empty or holds only blank lines.")
    header = [c.strip().lower() for c in numbered[0][1]]
    url_col = next(
        (
            i
            for i, h in enumerate(header)
            if any(h == name or h.startswith(name) for name in URL_HEADERS)
        ),
        None,
    )
    has_header = url_col is not None or not any(LINKEDIN.search(c) for c in header)
    body = numbered[1:] if has_header else numbered
    if url_col is None:
        url_col = _url_column_by_content([r for _, r in numbered[:200]])
    if url_col is None:
        raise IntakeError(
            f"No column of LinkedIn URLs found in the {source}. Name the column 'url', or put the "
            "URLs in a column of their own."
        )
    found = {
        name: next((i for i, h in enumerate(header) if h in aliases), None) if has_header else None
        for name, aliases in EXTRA_COLUMNS.items()
    }
    label_col, tags_col, notes_col = found["label"], found["tags"], found["notes"]
    cells = [r for _, r in body]

    def column(col: int | None) -> list[str] | itertools.repeat[str]:
        """A column's cells, stripped; "" where a row is too short (column by column: 100,000
        rows are read in a third of the time a row-by-row loop takes)."""
        if col is None:
            return itertools.repeat("")
        return [r[col].strip() if col < len(r) else "" for r in cells]

    texts = column(url_col)
    rows = list(
        map(
            Row, [n for n, _ in body], texts, column(label_col), column(tags_col), column(notes_col)
        )
    )
    for row, record in zip(rows, cells, strict=True):
        if not row.text:  # reported as a row without a URL, with what it did hold
            row.other = " | ".join(c for i, c in enumerate(record) if i != url_col and c)
    return _finished(Intake(rows, source=source))


def _url_column_by_content(table: list[list[str]]) -> int | None:
    width = max(len(r) for r in table)
    scores = [
        sum(1 for r in table if i < len(r) and LINKEDIN.search(str(r[i] or "")))
        for i in range(width)
    ]
    best = max(range(width), key=lambda i: scores[i])
    return best if scores[best] else None


# A LinkedIn address inside other words: "Mexico SaaS: https://www.linkedin.com/sales/…".
EMBEDDED_URL = re.compile(
    r"(?:https?://)?(?:www\.|[a-z]{2}\.)?linkedin\.com/[^\s<>\"'|]+", re.IGNORECASE
)
URL_STARTS = ("https://", "http://", "www.", "linkedin.")


def _take_urls_out(intake: Intake) -> Intake:
    """Rows whose URL stands among other words (a chat message, a row split by a delimiter
    NavMetrics did not guess) become one row per URL, the other words their label."""
    rows: list[Row] = []
    taken: list[int] = []
    for row in intake.rows:
        text = row.text
        bare = text.startswith(URL_STARTS) and " " not in text and "\t" not in text
        found = None if bare else _urls_among_words(text)
        if found is None:
            rows.append(row)
            continue
        addresses, words = found
        taken.append(row.line)
        for address in addresses:
            rows.append(Row(row.line, address, row.label or words, row.tags, row.notes))
    if taken:
        intake.warnings.append(
            f"{len(taken):,} line(s) held a LinkedIn URL among other text (first: line "
            f"{taken[0]}); NavMetrics took each URL out and used the rest as its label."
        )
    intake.rows = rows
    return intake


def _urls_among_words(text: str) -> tuple[list[str], str] | None:
    if not text or text[0] in "=+@" or urls.validate(text).status != "invalid":
        return None  # empty, a formula (told apart later), or fine as it is
    addresses = [_trimmed(m) for m in EMBEDDED_URL.findall(text)]
    if not addresses:
        return None
    words = EMBEDDED_URL.sub(" ", text)
    return addresses, " ".join(words.split()).strip(" |;,:-–—<>=→")


def _trimmed(address: str) -> str:
    """A URL as written in a sentence, without the sentence's punctuation: a full stop after it,
    or the ")" of "(see https://…)", which leaves more ")" than "(" in the URL."""
    address = address.rstrip(".,;:!?")
    while address.endswith(")") and address.count(")") > address.count("("):
        address = address[:-1].rstrip(".,;:!?")
    return address


def _finished(intake: Intake) -> Intake:
    """The last steps of every reading: URLs taken out of other words, then the row cap."""
    intake = _take_urls_out(intake)
    if len(intake.rows) > MAX_ROWS:
        intake.warnings.append(
            f"Only the first {MAX_ROWS:,} of {len(intake.rows):,} rows were read; split the file."
        )
        intake.rows = intake.rows[:MAX_ROWS]
    return intake


def read_xlsx(raw: bytes, source: str) -> Intake:
    from openpyxl import load_workbook

    try:
        # Formulas as written (not their cached values): a =HYPERLINK("url", "name") keeps its URL.
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise IntakeError(
            f"The {source} is not a readable XLSX file ({type(exc).__name__}); re-save it from "
            "your spreadsheet, or export it as CSV."
        ) from None
    sheet = book.worksheets[0] if book.worksheets else None
    if sheet is None:
        raise IntakeError(f"The {source} has no sheet.")
    table = [
        ["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)
    ]
    book.close()
    intake = _from_table(list(enumerate(table, 1)), source)
    if len(book.worksheets) > 1:
        intake.warnings.append("Only the first sheet was read.")
    return intake


def read_bytes(raw: bytes, name: str) -> Intake:
    """An uploaded or named file, by its content first and its extension second."""
    if len(raw) > MAX_BYTES:
        raise IntakeError(
            f"{name} is {len(raw) / 1e6:.0f} MB; NavMetrics reads files up to "
            f"{MAX_BYTES // 1_000_000} MB ({MAX_ROWS:,} rows). Split it into smaller files."
        )
    if not raw.strip():
        raise IntakeError(f"{name} is empty: it holds no URL.")
    if raw[:4] == b"PK\x03\x04" or name.lower().endswith((".xlsx", ".xlsm")):
        return read_xlsx(raw, name)
    if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise IntakeError(
            f"{name} is an old .xls workbook: save it as .xlsx or CSV and upload that."
        )
    text, warnings = decode(raw)
    intake = read_text(text, name)
    intake.warnings = warnings + intake.warnings
    return intake


def read_path(path: str | Path) -> Intake:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise IntakeError(f"{path.name} is {size / 1e6:.0f} MB; split it into smaller files.")
        raw = path.read_bytes()
    except OSError as exc:
        raise IntakeError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    return read_bytes(raw, path.name)


def chunks(rows: list[Row], size: int = 2000) -> Iterator[list[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
