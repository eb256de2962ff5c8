"""URL verdicts, normalisation and decoding, over the examples of URLS.md and more."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from navmetrics import urls
from tests.conftest import SHARED, SOFTWARE_MEXICO

URLS_MD = (SHARED / "salesnav" / "URLS.md").read_text()


def example(start: str) -> str:
    return next(line for line in URLS_MD.splitlines() if line.startswith(start))


NEARLY_EVERY_FILTER = example(
    "https://www.linkedin.com/sales/search/company?query=(filters%3AList((type%3AINDUSTRY%2Cvalues%3AList((id%3A27"
)
MANY_VALUES = example(
    "https://www.linkedin.com/sales/search/company?query=(filters%3AList((type%3AREGION"
)


def test_the_nearly_every_filter_example_decodes_with_its_commas_intact():
    verdict = urls.validate(NEARLY_EVERY_FILTER)
    assert verdict.status == "ok"
    described = {f.type: f.describe() for f in verdict.filters}
    assert described["COMPANY_HEADCOUNT"] == "Company headcount: 1-10, 501-1,000, 10,001+"
    assert described["REGION"] == "Headquarters location: Türkiye, United States"
    assert described["ANNUAL_REVENUE"] == "Annual revenue (millions): 5 to 500 USD"
    assert described["DEPARTMENT_HEADCOUNT"] == "Department headcount (department 1): 1 to 11"
    assert "Funding events in past 12 months" in described["ACCOUNT_ACTIVITIES"]


def test_many_values_example():
    verdict = urls.validate(MANY_VALUES)
    assert (
        verdict.label
        == "Internet Publishing, Blockchain Services · 201-500 · Bosnia and Herzegovina, Iceland, Georgia"
    )


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        (
            "https://www.linkedin.com/sales/search/company?savedSearchId=1980479034",
            "warning",
            "seat that saved",
        ),
        (
            "https://www.linkedin.com/sales/search/company?companySize=I%2CE%2CF%2CG%2CH&geoIncluded=101165590&industryIncluded=27&searchSessionId=3iaVlQyVQqae1aWQBQO0eA%3D%3D",
            "warning",
            "Older flat URL format",
        ),
        ("https://www.linkedin.com/sales/search/companies?facet=CCR", "invalid", "oldest"),
        (example("Not a company search: ").split("`")[1], "invalid", "people search"),
        (
            "https://www.linkedin.com/sales/search/people#query=(filters:List())",
            "invalid",
            "people search",
        ),
        ("https://www.linkedin.com/sales/lists/company/123", "invalid", "list"),
        ("https://www.linkedin.com/sales/company/123", "invalid", "company page"),
        ("https://www.linkedin.com/sales/lead/ACwAAA,NAME,x", "invalid", "lead page"),
        ("https://www.linkedin.com/sales/accounts/insights", "invalid", "saved accounts"),
        ("https://www.linkedin.com/sales/search/company", "invalid", "no filters"),
        ("https://www.google.com/search?q=x", "invalid", "not LinkedIn"),
        ("hello", "invalid", "Not a URL"),
        (SOFTWARE_MEXICO.replace("https://", "http://"), "warning", "https"),
        (SOFTWARE_MEXICO.replace("www.", "fr."), "ok", "Company search"),
        (SOFTWARE_MEXICO[: len(SOFTWARE_MEXICO) // 2], "invalid", "cut short"),
    ],
)
def test_every_shape_gets_its_verdict_and_a_reason(url, status, words):
    verdict = urls.validate(url)
    assert verdict.status == status, verdict.message
    assert words.lower() in verdict.message.lower()


def test_copies_differing_only_in_noise_become_one_search():
    base = urls.normalise(SOFTWARE_MEXICO)
    noisy = [
        SOFTWARE_MEXICO.replace("roVugHZHSh6dS4Q6okecug", "other"),
        SOFTWARE_MEXICO.replace("&viewAllFilters=true", "") + "&page=3",
        "https://linkedin.com/sales/search/company?page=2&" + SOFTWARE_MEXICO.split("?", 1)[1],
        SOFTWARE_MEXICO.replace(
            "(filters%3AList(",
            "(recentSearchParam%3A(id%3A55%2CdoLogHistory%3Atrue)%2Cfilters%3AList(",
        ),
    ]
    assert base and all(urls.normalise(u) == base for u in noisy)


def test_filters_clicked_in_another_order_are_one_search():
    industry = "(type%3AINDUSTRY%2Cvalues%3AList((id%3A4%2Ctext%3ASoftware%2520Development%2CselectionType%3AINCLUDED)))"
    region = "(type%3AREGION%2Cvalues%3AList((id%3A103323778%2Ctext%3AMexico%2CselectionType%3AINCLUDED)))"
    one = f"https://www.linkedin.com/sales/search/company?query=(filters%3AList({industry}%2C{region}))"
    two = f"https://www.linkedin.com/sales/search/company?query=(filters%3AList({region}%2C{industry}))"
    assert urls.normalise(one) == urls.normalise(two)


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.linkedin.com/sales/search/company?query=(filters:List((type:INDUSTRY,values:List((id:116,text:Transportation%252C%2520Logistics%252C%2520Supply%2520Chain%2520and%2520Storage,selectionType:INCLUDED)))))",
        "https://www.linkedin.com/sales/search/company?query=%28filters%3AList%28%28type%3AINDUSTRY%2Cvalues%3AList%28%28id%3A116%2Ctext%3ATransportation%252C%2520Logistics%252C%2520Supply%2520Chain%2520and%2520Storage%2CselectionType%3AINCLUDED%29%29%29%29%29",
        "https://www.linkedin.com/sales/search/company?query=(filters%3AList((type%3AINDUSTRY%2Cvalues%3AList((id%3A116%2Ctext%3ATransportation%2C%20Logistics%2C%20Supply%20Chain%20and%20Storage%2CselectionType%3AINCLUDED)))))",
    ],
    ids=["structure-not-encoded", "parentheses-encoded", "label-encoded-once"],
)
def test_encoding_variants_decode_to_the_same_label(variant):
    verdict = urls.validate(variant)
    assert verdict.label == "Transportation, Logistics, Supply Chain and Storage"


def test_england_label_keeps_its_comma():
    url = "https://www.linkedin.com/sales/search/company?query=(filters%3AList((type%3AREGION%2Cvalues%3AList((id%3A102299470%2Ctext%3AEngland%252C%2520United%2520Kingdom%2CselectionType%3AINCLUDED)%2C(id%3A102713980%2CselectionType%3AEXCLUDED)))))"
    assert urls.validate(url).label == "England, United Kingdom, not India"


def test_unknown_filter_types_are_kept_raw():
    url = "https://www.linkedin.com/sales/search/company?query=(filters%3AList((type%3ANEW_THING%2Cweird%3A(a%3A1))))"
    verdict = urls.validate(url)
    assert verdict.status == "ok" and verdict.filters[0].raw is not None
    assert "NEW_THING" in verdict.message


atoms = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=20
)
values = st.builds(
    urls.FilterValue,
    id=st.from_regex(r"[A-Z0-9]{1,9}", fullmatch=True),
    text=st.one_of(st.none(), atoms),
    selection=st.sampled_from(["INCLUDED", "EXCLUDED"]),
)
value_filters = st.builds(
    urls.Filter,
    type=st.sampled_from(["INDUSTRY", "REGION", "COMPANY_HEADCOUNT", "TECHNOLOGIES_USED"]),
    values=st.lists(values, min_size=1, max_size=4, unique_by=lambda v: v.id).map(tuple),
)
range_filters = st.builds(
    urls.Filter,
    type=st.sampled_from(["ANNUAL_REVENUE", "COMPANY_HEADCOUNT_GROWTH"]),
    range_min=st.one_of(st.none(), st.integers(0, 1000).map(str)),
    range_max=st.integers(1001, 5000).map(str),
    sub_filter=st.one_of(st.none(), st.sampled_from(["USD", "EUR"])),
)


@given(
    st.lists(
        st.one_of(value_filters, range_filters), min_size=1, max_size=4, unique_by=lambda f: f.type
    )
)
def test_decoding_what_the_encoder_built_gives_back_the_same_filters(filters):
    verdict = urls.validate(urls.build_url(filters))
    assert verdict.status == "ok", verdict.message
    expected = sorted((urls._canonical_filter(f) for f in filters), key=lambda f: f.type)
    assert verdict.filters == expected


@given(
    st.lists(
        st.one_of(value_filters, range_filters), min_size=1, max_size=4, unique_by=lambda f: f.type
    )
)
def test_normalising_twice_equals_normalising_once(filters):
    once = urls.normalise(urls.build_url(filters))
    assert once is not None and urls.normalise(once) == once
    assert urls.EDGES_PATTERN.match(once)


@given(
    st.lists(
        st.one_of(value_filters, range_filters), min_size=1, max_size=4, unique_by=lambda f: f.type
    )
)
def test_the_fast_reader_and_the_careful_parser_agree(filters):
    from urllib.parse import unquote

    raw = urls.build_url(filters).split("query=", 1)[1]
    text = unquote(raw)
    assert urls._parse_fast(text) == urls._Parser(text).parse()


@pytest.mark.parametrize("url", [NEARLY_EVERY_FILTER, MANY_VALUES])
def test_the_fast_reader_agrees_on_the_documented_examples(url):
    from urllib.parse import unquote

    text = unquote(url.split("query=", 1)[1].split("&")[0])
    assert urls._parse_fast(text) == urls._Parser(text).parse()


@given(
    st.lists(
        st.one_of(value_filters, range_filters), min_size=1, max_size=4, unique_by=lambda f: f.type
    ),
    st.sampled_from(["", "&sessionId=abc%3D%3D", "&viewAllFilters=true&page=2", "&foo=1", "#x"]),
)
def test_the_fast_path_and_the_full_path_give_the_same_verdict(filters, tail):
    url = urls.build_url(filters) + tail
    assert urls.validate(url) == urls._validate(url, url.strip())


@pytest.mark.parametrize("url", [NEARLY_EVERY_FILTER, MANY_VALUES, SOFTWARE_MEXICO])
def test_the_fast_path_agrees_on_the_documented_examples(url):
    assert urls._validate_fast(url, url) is not None
    assert urls.validate(url) == urls._validate(url, url)


def test_a_url_mixing_escaped_and_bare_structure_takes_the_full_path():
    mixed = SOFTWARE_MEXICO.replace("(type%3AREGION%2C", "(type:REGION,")
    assert urls._validate_fast(mixed, mixed) is None
    assert urls.validate(mixed) == urls._validate(mixed, mixed)


@given(value_filters)
def test_a_list_of_values_is_read_by_its_regular_expression_as_the_parser_reads_it(f):
    piece = urls.build_url([f]).split("(type%3A", 1)[1].removesuffix(")))")
    by_regex = urls._values_fragment(piece)
    assert by_regex is not None, piece  # the usual shape must take the quick way
    assert by_regex == urls._any_fragment(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "REGION%2Cvalues%3AList((id%3A1%2Ctext%3AMexico))",  # no selectionType
        "REGION%2Cvalues%3AList((text%3AMexico%2Cid%3A1%2CselectionType%3AINCLUDED))",
        "REGION%2Cvalues%3AList((id%3A1%2Ctext%3AFinancial%20Services%2CselectionType%3AINCLUDED))",
        "REGION%2Cvalues%3AList((id%3A1%2Ctext%3AS%25c3%25a3o%2CselectionType%3AINCLUDED))",
        "REGION%2Cvalues%3AList((id%3A1%2Ctext%3A%27%27%2CselectionType%3AINCLUDED))",
    ],
    ids=["no-selection", "keys-reordered", "label-encoded-once", "lowercase-hex", "empty-label"],
)
def test_unusual_value_lists_leave_the_regular_expression_to_the_parser(piece):
    assert urls._values_fragment(piece) is None
    url = f"{urls.CANONICAL_PREFIX}?query=(filters%3AList((type%3A{piece})))"
    assert urls.validate(url) == urls._validate(url, url)


@pytest.mark.parametrize(
    ("filters", "label"),
    [
        ([], "All companies"),
        (
            [
                urls.Filter("REGION", (urls.FilterValue("103323778"),)),
                urls.Filter(
                    "INDUSTRY", tuple(urls.FilterValue(i) for i in ("4", "25", "27", "133"))
                ),
            ],
            "Wholesale +3 · Mexico",  # values in id order: "133" first
        ),
        (
            [urls.Filter("ANNUAL_REVENUE", range_min="1", range_max="5", sub_filter="USD")],
            "Annual revenue (millions): 1 to 5 USD",
        ),
        (
            [
                urls.Filter(
                    "COMPANY_HEADCOUNT",
                    (urls.FilterValue("D"), urls.FilterValue("B", selection="EXCLUDED")),
                ),
                urls.Filter("ANNUAL_REVENUE", range_min="1", range_max="5", sub_filter="USD"),
            ],
            "51-200, not 1-10 · Annual revenue (millions): 1 to 5 USD",
        ),
        (
            [
                urls.Filter("INDUSTRY", (urls.FilterValue("4"),)),
                urls.Filter("ANNUAL_REVENUE", range_min="1", range_max="5"),
                urls.Filter("NUM_OF_FOLLOWERS", (urls.FilterValue("NFR5"),)),
            ],
            "Software Development · +2 more filters",
        ),
        (
            [
                urls.Filter("ANNUAL_REVENUE", range_min="1", range_max="5"),
                urls.Filter("FORTUNE", (urls.FilterValue("1"),)),
                urls.Filter("NUM_OF_FOLLOWERS", (urls.FilterValue("NFR5"),)),
            ],
            "Annual revenue (millions): 1 to 5 · Fortune: Fortune 50 · +1 more filters",
        ),
    ],
    ids=[
        "nothing",
        "many-industries",
        "one-other",
        "band-and-revenue",
        "main-and-two",
        "others-only",
    ],
)
def test_labels_read_like_a_segment(filters, label):
    canonical = [urls._canonical_filter(f) for f in filters]
    assert urls.make_label(canonical) == label
    if filters:
        assert urls.validate(urls.build_url(filters)).label == label


@given(st.lists(value_filters, min_size=1, max_size=3, unique_by=lambda f: f.type), atoms)
def test_a_search_is_the_same_search_whatever_its_labels_say(filters, other_label):
    from dataclasses import replace

    relabelled = [
        replace(f, values=tuple(replace(v, text=other_label) for v in f.values)) for f in filters
    ]
    unlabelled = [
        replace(f, values=tuple(replace(v, text=None) for v in f.values)) for f in filters
    ]
    keys = {
        urls.identity(urls.normalise(urls.build_url(fs)) or "")
        for fs in (filters, relabelled, unlabelled)
    }
    assert len(keys) == 1 and "text%3A" not in keys.pop()


def test_searches_with_other_values_have_other_identities():
    mexico = urls.normalise(SOFTWARE_MEXICO) or ""
    india = urls.normalise(SOFTWARE_MEXICO.replace("103323778", "102713980")) or ""
    excluded = urls.normalise(SOFTWARE_MEXICO.replace("INCLUDED)))))", "EXCLUDED)))))")) or ""
    assert len({urls.identity(u) for u in (mexico, india, excluded)}) == 3
