from __future__ import annotations

import pytest

from legalai.kit.errors import InvalidInput
from legalai.search.lexical import highlight_spans
from legalai.search.query import parse, to_fts5, to_tsquery


def test_phrases_prefixes_negation_and_or() -> None:
    q = parse('"limitation of liability" indemnif* -convenience OR arbitration')
    assert to_fts5(q) == '("limitation of liability" AND "indemnif"* NOT "convenience") OR ("arbitration")'
    assert to_tsquery(q) == "((limitation <-> of <-> liability) & indemnif:* & !convenience) | (arbitration)"


def test_operators_in_user_input_never_reach_the_engine() -> None:
    q = parse('foo\' & bar) | !baz <-> NEAR(x y) "a" * : ^')
    assert to_fts5(q) == '("foo" AND "bar" AND "baz" AND "near x" AND "y" AND "a")'
    assert to_tsquery(q) == "(foo & bar & baz & (near <-> x) & y & a)"


@pytest.mark.parametrize("bad", ["", "   ", "-only", "*** ... !!!", "x" * 501])
def test_unsearchable_queries_are_clear_errors(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse(bad)


def test_hyphenated_words_are_phrases() -> None:
    q = parse("non-compete")
    assert q.groups[0][0].words == ("non", "compete")


def test_highlights_match_stems_phrases_and_prefixes() -> None:
    text = "The Parties terminated it. Termination for convenience; indemnification and INDEMNITY."
    spans = highlight_spans(text, parse('terminate indemn* "for convenience"'))
    found = [text[s:e] for s, e in spans]
    assert found == ["terminated", "Termination", "for convenience", "indemnification", "INDEMNITY"]


def test_stemming_from_many_threads_at_once_gives_the_single_threaded_stems() -> None:
    """Requests stem in parallel threads; a shared Snowball stemmer corrupted words (IndexError)."""
    import threading

    import snowballstemmer

    from legalai.search import query

    bases = ("indemnif", "terminat", "licens", "assign", "warrant")
    suffixes = ("ication", "ies", "ing", "ed", "ation", "ors", "ability", "ement")
    words = [f"{b}{s}{n}x" for n in range(300) for b in bases for s in suffixes]
    reference = snowballstemmer.stemmer("english")
    expected = {w: reference.stemWord(w) for w in words}
    query.stem.cache_clear()  # distinct words and an empty cache: every call really stems
    problems: list[str] = []

    def work(offset: int) -> None:
        try:
            for w in words[offset:] + words[:offset]:
                if (got := query.stem(w)) != expected[w]:
                    problems.append(f"{w}: {got} != {expected[w]}")
        except Exception as exc:
            problems.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i * 997,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []
    assert query.stem("Terminating") == "termin"
