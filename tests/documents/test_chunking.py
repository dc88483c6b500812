from __future__ import annotations

import itertools

from legalai.documents.chunking import chunk_page, chunk_pages
from tests.fixtures.docs import CONTRACT


def test_chunks_are_exact_page_slices_and_cover_the_text() -> None:
    text = (CONTRACT + "\n\n") * 12
    spans = chunk_page(3, text, size=400, overlap=60)
    assert len(spans) > 5
    covered = set()
    for span in spans:
        assert span.page_number == 3
        assert 0 <= span.start < span.end <= len(text)
        assert span.end - span.start <= 400
        assert not text[span.start].isspace() and not text[span.end - 1].isspace()
        covered.update(range(span.start, span.end))
    # Every non-space character is in some chunk.
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())


def test_chunks_prefer_sentence_and_paragraph_boundaries() -> None:
    text = ("The Supplier shall deliver the goods. " * 20 + "\n\n") * 3
    spans = chunk_page(1, text, size=300, overlap=0)
    ends = [text[s.start : s.end][-1] for s in spans[:-1]]
    assert all(e == "." for e in ends), ends


def test_consecutive_chunks_overlap_and_advance() -> None:
    text = "word " * 2000
    spans = chunk_page(1, text, size=500, overlap=100)
    for a, b in itertools.pairwise(spans):
        assert b.start > a.start
        assert b.start < a.end  # overlapping
        assert a.end - b.start <= 110


def test_unbreakable_text_is_cut_at_the_limit() -> None:
    text = "x" * 2500
    spans = chunk_page(1, text, size=1000, overlap=0)
    assert [(s.start, s.end) for s in spans] == [(0, 1000), (1000, 2000), (2000, 2500)]


def test_empty_and_blank_pages_make_no_chunks() -> None:
    assert chunk_pages([(1, ""), (2, "   \n\n  ")], 1000, 100) == []
    spans = chunk_pages([(1, "Short page."), (2, "Another one.")], 1000, 100)
    assert [(s.page_number, s.start, s.end) for s in spans] == [(1, 0, 11), (2, 0, 12)]
