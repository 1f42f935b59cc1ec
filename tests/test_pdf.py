"""tools/check_pdf.py: what it catches, on small made-up inputs, and the built PDF where there is
one (``make pdf``; skipped otherwise, or where poppler-utils' pdftotext is missing)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tools import check_pdf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import page_style  # noqa: E402


def test_normalize_reads_as_a_reader_would():
    assert check_pdf.normalize("Latent variable models and Bayes\u2019 rule") == \
        "latent variable models and bayes' rule"
    assert check_pdf.normalize("The \ufb01rst  chapter,\nwith a hyphen-\nated word") == \
        "the first chapter, with a hyphenated word"


def test_chapter_titles_come_from_the_numbered_part_of_the_toc():
    titles = check_pdf.chapter_titles(ROOT)
    assert len(titles) == 8  # chapters 1-8 (the homework pages are an unnumbered part)
    assert titles[1] == "KL divergence"
    assert titles[7] == "VAEs in practice"
    assert all(t and not t.startswith("#") for t in titles)


def test_unresolved_references_are_found_with_their_context():
    marks = check_pdf.unresolved_marks("as shown in Theorem ??, the bound\nholds; see (??).")
    assert len(marks) == 2
    assert "Theorem ??" in marks[0]


# What Sphinx and sphinx-exercise write: an exercise box in chapter 3, a reference to it from
# its own chapter and one from chapter 5 (the one that printed "Exercise ??").
TEX = r"""\phantomsection \label{exercise:ex-zero}

\begin{sphinxadmonition}{note}{Exercise 3.6.3 (Zero variance)}
(\hyperref[exercise:ex-zero]{Exercise 3.6.3})
chapter 3's \hyperref[\detokenize{b/03:ex-zero}]{Exercise \ref{\detokenize{b/03:ex-zero}}} uses
\hyperref[\detokenize{b/03:thm-j}]{Theorem \ref{\detokenize{b/03:thm-j}}}
"""


def test_cross_chapter_exercise_references_link_to_the_box_with_its_number():
    assert page_style.exercise_numbers(TEX) == {"ex-zero": "3.6.3"}
    linked = page_style.link_exercise_references(TEX)
    assert "chapter 3's \\hyperref[exercise:ex-zero]{Exercise 3.6.3} uses" in linked
    assert "\\ref{\\detokenize{b/03:ex-zero" not in linked
    # a reference to anything that is not an exercise box is left as it was
    assert "{Theorem \\ref{\\detokenize{b/03:thm-j}}}" in linked
    assert page_style.link_exercise_references(linked) == linked


def test_log_problems_join_wrapped_lines():
    log = (
        "LaTeX Warning: Reference `book/01_latent_variable_models:thm-ch1-linear-gaussia\n"
        "n' on page 157 undefined on input line 13394.\n"
        "\n"
        "Missing character: There is no \u2a01 (U+2A01) in font [lmroman10-regular]:mapping=te\n"
        "x-text;!\n"
        "! Undefined control sequence.\n"
    )
    undefined, missing = check_pdf.log_problems(log)
    assert len(undefined) == 1 and "thm-ch1-linear-gaussian" in undefined[0]
    assert len(missing) == 1 and "U+2A01" in missing[0]
    assert check_pdf.latex_errors(log) == ["! Undefined control sequence."]


def test_a_clean_log_has_no_problems():
    log = ("Output written on vae-derived.pdf (170 pages).\n"
           "LaTeX Warning: Rerun to get /PageLabels entry.\n")
    assert check_pdf.log_problems(log) == ([], [])
    assert check_pdf.latex_errors(log) == []


def test_missing_pdf_is_an_error(tmp_path):
    report = check_pdf.check(tmp_path / "vae-derived.pdf", root=ROOT)
    assert not report.ok and "no PDF" in report.errors[0]


def _site(tmp_path: Path, *, ship: bool, link: bool) -> tuple[Path, Path]:
    pdf = tmp_path / "latex" / "vae-derived.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(b"%PDF-1.5 made up")
    html = tmp_path / "html"
    (html / "book").mkdir(parents=True)
    anchor = '<a class="reference external" href="../vae-derived.pdf">vae-derived.pdf</a>'
    body = anchor if link else ""
    (html / "book" / "intro.html").write_text(f"<html><body>{body}</body></html>")
    if ship:
        shutil.copy(pdf, html / "vae-derived.pdf")
    return pdf, html


def test_site_ships_the_pdf_and_links_to_it(tmp_path):
    assert check_pdf.site_problems(*_site(tmp_path, ship=True, link=True)) == []


def test_site_link_without_the_file_is_a_dead_link(tmp_path):
    problems = check_pdf.site_problems(*_site(tmp_path, ship=False, link=True))
    assert any("lacks" in p for p in problems)


def test_site_with_the_file_but_no_link(tmp_path):
    problems = check_pdf.site_problems(*_site(tmp_path, ship=True, link=False))
    assert problems == ["book/intro.html has no link to vae-derived.pdf"]


@pytest.mark.skipif(not check_pdf.PDF.is_file(),
                    reason="no _build/latex/vae-derived.pdf (run `make pdf`)")
@pytest.mark.skipif(shutil.which("pdftotext") is None,
                    reason="pdftotext (poppler-utils) not installed")
def test_the_built_pdf():
    report = check_pdf.check()
    assert not report.errors, report.errors
    assert report.pages > 0
    assert not report.chapters_missing, f"chapters not in the PDF: {report.chapters_missing}"
    assert not report.unresolved, f"'??' in the PDF: {report.unresolved[:5]}"
    assert not report.undefined_refs, report.undefined_refs[:5]
    assert not report.missing_glyphs, sorted(set(report.missing_glyphs))[:5]
    assert not report.latex_errors, report.latex_errors[:5]
