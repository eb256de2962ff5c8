"""Reading lists from files: every kind of bad file gets a clear message; good rows are kept."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from navmetrics import intake, store
from tests.conftest import SOFTWARE_MEXICO

UK = SOFTWARE_MEXICO.replace("103323778", "101165590").replace("Mexico", "United%2520Kingdom")


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def texts(found: intake.Intake) -> list[str]:
    return [row.text for row in found.rows]


def test_a_txt_file_is_one_url_a_line():
    found = intake.read_bytes(f"{SOFTWARE_MEXICO}\n\n{UK}\n".encode(), "list.txt")
    assert texts(found) == [SOFTWARE_MEXICO, UK]
    assert [r.line for r in found.rows] == [1, 3]


def test_a_csv_keeps_label_tags_and_notes_columns():
    raw = f'Label,URL,Tags,Notes\nMexico SaaS,{SOFTWARE_MEXICO},"latam, saas",from CRM\n'.encode()
    (row,) = intake.read_bytes(raw, "list.csv").rows
    assert (row.label, row.text, row.tags, row.notes) == (
        "Mexico SaaS",
        SOFTWARE_MEXICO,
        "latam, saas",
        "from CRM",
    )
    assert row.line == 2


def test_the_url_column_is_found_by_content_when_the_header_says_nothing():
    raw = f"company,where\nAcme,{SOFTWARE_MEXICO}\nBeta,{UK}\n".encode()
    assert texts(intake.read_bytes(raw, "list.csv")) == [SOFTWARE_MEXICO, UK]


def test_tsv_and_semicolon_files_are_read():
    for sep in ("\t", ";"):
        raw = f"label{sep}url\nA{sep}{SOFTWARE_MEXICO}\nB{sep}{UK}\n".encode()
        found = intake.read_bytes(raw, "list.csv")
        assert texts(found) == [SOFTWARE_MEXICO, UK] and found.rows[1].label == "B"


def test_xlsx_with_a_header():
    raw = xlsx([["Segment", "Sales Navigator URL"], ["Mexico", SOFTWARE_MEXICO], ["UK", UK]])
    found = intake.read_bytes(raw, "list.xlsx")
    assert texts(found) == [SOFTWARE_MEXICO, UK] and found.rows[0].label == "Mexico"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_common_encodings_with_or_without_bom(encoding):
    raw = f"label,url\nMéxico,{SOFTWARE_MEXICO}\n".encode(encoding)
    (row,) = intake.read_bytes(raw, "list.csv").rows
    assert row.label == "México" and row.text == SOFTWARE_MEXICO


BAD_FILES = {
    "empty": (b"", "empty"),
    "only-blank-lines": (b"\n\n  \n", "empty"),
    "binary": (bytes(range(256)) * 40, "binary"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(500), "binary"),
    "no-url-column": (b"name,city\nAcme,Paris\nBeta,Lima\n", "No column of LinkedIn URLs"),
    "old-xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old .xls"),
    "broken-xlsx": (b"PK\x03\x04" + b"not really a zip" * 10, "not a readable XLSX"),
    "too-large": (b"x" * (intake.MAX_BYTES + 1), "Split it into smaller files"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_each_kind_of_bad_file_gets_a_message_that_says_what_to_do(kind):
    raw, words = BAD_FILES[kind]
    with pytest.raises(intake.IntakeError, match=words):
        intake.read_bytes(raw, f"{kind}.csv")


def test_mixed_encodings_keep_every_row_and_warn():
    raw = f"label,url\nMéxico,{SOFTWARE_MEXICO}\n".encode() + f"Düsseldorf,{UK}\n".encode("cp1252")
    found = intake.read_bytes(raw, "mixed.csv")
    assert texts(found) == [SOFTWARE_MEXICO, UK]
    assert [r.label for r in found.rows] == ["México", "Düsseldorf"]
    assert "Windows-1252" in found.warnings[0]


def test_formulas_in_cells_are_neither_run_nor_lost(db):
    raw = xlsx(
        [
            ["url"],
            [f'=HYPERLINK("{SOFTWARE_MEXICO}","Mexico")'],
            ["=1+2"],
            [UK],
        ]
    )
    found = intake.read_bytes(raw, "formulas.xlsx")
    report = store.save_searches(db, found.rows)
    assert (report.new, report.invalid) == (2, 1)
    assert "formula" in report.invalid_lines[0]["message"]


def test_a_partly_bad_file_keeps_its_good_rows(db):
    raw = (
        "label,url\n"
        f"good,{SOFTWARE_MEXICO}\n"
        "people,https://www.linkedin.com/sales/search/people?query=(x)\n"
        "ragged\n"
        f"cut,{SOFTWARE_MEXICO[:90]}\n"
        f"also good,{UK}\n"
    ).encode()
    report = store.save_searches(db, intake.read_bytes(raw, "partly.csv").rows)
    assert report.new == 2 and report.invalid == 3
    assert sorted(store.searches_frame(db)["label"]) == ["also good", "good"]
    assert [line["line"] for line in report.invalid_lines] == [3, 4, 5]


def test_more_than_100000_rows_are_capped_with_a_warning():
    raw = ("\n".join([SOFTWARE_MEXICO] * (intake.MAX_ROWS + 5))).encode()
    found = intake.read_bytes(raw, "big.txt")
    assert len(found.rows) == intake.MAX_ROWS and "first 100,000" in found.warnings[0]


def test_cli_validate_reads_xlsx_and_reports_by_line(tmp_path):
    path = tmp_path / "list.xlsx"
    path.write_bytes(xlsx([["label", "url"], ["Mexico", SOFTWARE_MEXICO], ["bad", "nope"]]))
    result = subprocess.run(
        [sys.executable, "-m", "navmetrics.cli", "validate", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0
    assert [(line["line"], line["status"]) for line in lines] == [(2, "ok"), (3, "invalid")]


def test_cli_validate_of_a_binary_file_exits_2_with_the_reason(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 10)
    result = subprocess.run(
        [sys.executable, "-m", "navmetrics.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "binary" in result.stderr and "Traceback" not in result.stderr


def test_a_stray_quote_does_not_swallow_the_rows_after_it(db):
    raw = (
        "label,url\n"
        f"good,{SOFTWARE_MEXICO}\n"
        f'"Mexico SaaS,{SOFTWARE_MEXICO.replace("Mexico", "Brazil")}\n'
        f"after,{UK}\n"
        f"last,{SOFTWARE_MEXICO.replace('103323778', '102713980')}\n"
    ).encode()
    found = intake.read_bytes(raw, "stray.csv")
    assert [row.line for row in found.rows] == [2, 3, 4, 5]
    assert [row.label for row in found.rows][2:] == ["after", "last"]
    assert 'Line 3 opens a quote (")' in found.warnings[0]
    report = store.save_searches(db, found.rows)
    assert report.new == 3 and report.invalid == 1
    assert report.invalid_lines[0]["line"] == 3


def test_a_cell_beyond_the_csv_modules_limit_is_read_without_a_traceback():
    raw = f'url,notes\n{SOFTWARE_MEXICO},"{"x" * 200_000}"\n{UK},short\n'.encode()
    found = intake.read_bytes(raw, "huge-cell.csv")
    assert texts(found) == [SOFTWARE_MEXICO, UK]
    assert len(found.rows[0].notes) == 200_000


def test_rows_after_a_multi_line_cell_keep_their_own_line_numbers():
    raw = f'url,notes\n{SOFTWARE_MEXICO},"two\nlines"\n{UK},one line\n'.encode()
    found = intake.read_bytes(raw, "notes.csv")
    assert [(row.line, row.notes) for row in found.rows] == [(2, "two\nlines"), (4, "one line")]


def test_old_mac_line_ends_are_lines():
    raw = f"label,url\rMexico,{SOFTWARE_MEXICO}\rUK,{UK}\r".encode()
    found = intake.read_bytes(raw, "mac.csv")
    assert [(row.line, row.label) for row in found.rows] == [(2, "Mexico"), (3, "UK")]


cells = st.text(alphabet=st.sampled_from('ab,;\t\n\r "x'), max_size=40)


@given(cells)
def test_records_are_what_csv_reader_reads_in_universal_newline_mode(text):
    """A plain split stands in for csv.reader where no quote can make them differ."""
    records, _ = intake._records(text, ",")
    expected = list(csv.reader(io.StringIO(text, newline=None)))
    assert [r for _, r in records if any(r)] == [r for r in expected if any(r)]


def test_a_pipe_delimited_file_is_read_by_its_columns():
    raw = f"label|url\nMexico|{SOFTWARE_MEXICO}\nUK|{UK}\n".encode()
    found = intake.read_bytes(raw, "pipes.csv")
    assert [(row.label, row.text) for row in found.rows] == [
        ("Mexico", SOFTWARE_MEXICO),
        ("UK", UK),
    ]


def test_urls_in_a_chat_message_are_taken_out_with_their_words_as_labels(db):
    pasted = (
        f"Hi team, the Mexico SaaS segment: {SOFTWARE_MEXICO}.\n"
        f"UK one <{UK}> and again {SOFTWARE_MEXICO}\n"
        "thanks!\n"
    )
    found = intake.read_text(pasted)
    assert [(row.line, row.text) for row in found.rows] == [
        (1, SOFTWARE_MEXICO),
        (2, UK),
        (2, SOFTWARE_MEXICO),
        (3, "thanks!"),
    ]
    assert found.rows[0].label == "Hi team, the Mexico SaaS segment"
    assert "2 line(s) held a LinkedIn URL among other text (first: line 1)" in found.warnings[0]
    report = store.save_searches(db, found.rows)
    assert (report.new, report.duplicates_in_input, report.invalid) == (2, 1, 1)


def test_a_url_in_parentheses_or_before_a_full_stop_keeps_only_its_own_characters():
    ends_in_brackets = UK.split("&")[0]  # "…)))))", as a URL without its session id ends
    found = intake.read_text(
        f"Mexico (see {SOFTWARE_MEXICO}). And the UK (copied: {ends_in_brackets})."
    )
    assert [row.text for row in found.rows] == [SOFTWARE_MEXICO, ends_in_brackets]


def test_a_file_split_by_a_delimiter_nobody_guessed_keeps_its_urls():
    raw = f"label url\nMexico {SOFTWARE_MEXICO}\nUK {UK}\n".encode()
    found = intake.read_bytes(raw, "spaces.txt")
    assert [row.text for row in found.rows][1:] == [SOFTWARE_MEXICO, UK]
    assert [row.label for row in found.rows][1:] == ["Mexico", "UK"]
