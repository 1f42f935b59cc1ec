"""Check the book's PDF (``make pdf``): it exists, holds every chapter, and XeLaTeX left no
unresolved reference and no missing glyph.

    python -m tools.check_pdf [--pdf _build/latex/vae-derived.pdf] [--html _build/html]

Checks:

* the PDF exists and has pages (``pdfinfo``, from poppler-utils);
* every chapter of the numbered part of ``_toc.yml`` is in it: each chapter notebook's title
  (its first ``# `` heading) is found in the PDF's text (``pdftotext``);
* no unresolved reference: no ``??`` in the text (what LaTeX prints for a ``\\ref`` to a label
  it does not know), and no "Reference ... undefined" warning in the LaTeX log;
* no missing glyph: no "Missing character" line in the LaTeX log (XeLaTeX drops a character
  the font lacks, with only that line in the log to say so);
* no LaTeX error: no line of the log starts with "! " (nonstop mode can still write a PDF);
* with ``--html``: the site ships the PDF (``<html>/vae-derived.pdf``, the same bytes) and the
  intro links to it; a site without the PDF must not link to it.

Prints one line per check and a summary; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PDF = ROOT / "_build" / "latex" / "vae-derived.pdf"
PDF_NAME = "vae-derived.pdf"


@dataclass
class Report:
    pages: int = 0
    chapters_found: list[str] = field(default_factory=list)
    chapters_missing: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # text around each "??"
    undefined_refs: list[str] = field(default_factory=list)
    missing_glyphs: list[str] = field(default_factory=list)
    latex_errors: list[str] = field(default_factory=list)
    site: list[str] = field(default_factory=list)  # problems with the copy in the HTML site
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.errors or self.chapters_missing or self.unresolved
                    or self.undefined_refs or self.missing_glyphs or self.latex_errors
                    or self.site)


def normalize(text: str) -> str:
    """Compare text as a reader would: ligatures split (NFKC), curly quotes straight,
    hyphenation at line ends undone, whitespace collapsed, case ignored."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"',
                                         "\u201d": '"', "\u2013": "-", "\u2014": "-"}))
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def chapter_titles(root: Path = ROOT) -> list[str]:
    """The titles of the chapters in the numbered part(s) of ``_toc.yml``, in order."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [ch["file"] for part in toc.get("parts", []) if part.get("numbered")
             for ch in part.get("chapters", [])]
    titles = []
    for name in files:
        path = next((root / f"{name}{ext}" for ext in (".ipynb", ".md")
                     if (root / f"{name}{ext}").is_file()), None)
        if path is None:
            raise FileNotFoundError(f"_toc.yml names {name}, which is not in the repository")
        titles.append(_title(path))
    return titles


def _title(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = path.read_text()
    for line in text.splitlines():
        if line.startswith("# "):
            # markdown emphasis and code marks do not reach the PDF's text
            return re.sub(r"[*_`]", "", line[2:]).strip()
    raise ValueError(f"{path} has no '# ' title")


def unresolved_marks(text: str, context: int = 40) -> list[str]:
    """Each ``??`` in the text, with some text around it."""
    flat = re.sub(r"\s+", " ", text)
    return [flat[max(0, m.start() - context):m.end() + context]
            for m in re.finditer(r"\?\?", flat)]


def latex_errors(log: str) -> list[str]:
    """The error lines ("! ...") of a LaTeX log."""
    return [line for line in log.splitlines() if line.startswith("! ")]


def log_problems(log: str) -> tuple[list[str], list[str]]:
    """(undefined references, missing characters) reported in a LaTeX log."""
    # TeX wraps log lines at 79 characters: join them before matching
    flat = re.sub(r"\n(?!\n)", "", log)
    undefined = re.findall(
        r"LaTeX Warning: (?:Hyper r|R)eference `[^']*' on page \d+ undefined", flat
    )
    missing = re.findall(r"Missing character: [^!]*?!", flat)
    return undefined, missing


def _run(cmd: list[str]) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def check(pdf: Path = PDF, log: Path | None = None, html: Path | None = None,
          root: Path = ROOT) -> Report:
    report = Report()
    if not pdf.is_file():
        report.errors.append(f"no PDF at {pdf} (run `make pdf`)")
        return report
    for tool in ("pdfinfo", "pdftotext"):
        if shutil.which(tool) is None:
            report.errors.append(f"{tool} not found (apt-get install poppler-utils)")
    if report.errors:
        return report
    info = _run(["pdfinfo", str(pdf)])
    match = re.search(r"^Pages:\s+(\d+)", info, flags=re.M)
    report.pages = int(match.group(1)) if match else 0
    if report.pages == 0:
        report.errors.append("the PDF has no pages")
    text = _run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"])
    flat = normalize(text)
    for title in chapter_titles(root):
        found = normalize(title) in flat
        (report.chapters_found if found else report.chapters_missing).append(title)
    report.unresolved = unresolved_marks(text)

    log = log or pdf.with_suffix(".log")
    if log.is_file():
        text = log.read_text(encoding="utf-8", errors="replace")
        report.undefined_refs, report.missing_glyphs = log_problems(text)
        report.latex_errors = latex_errors(text)
    else:
        report.errors.append(f"no LaTeX log at {log}")

    if html is not None:
        report.site = site_problems(pdf, html)
    return report


def site_problems(pdf: Path, html: Path) -> list[str]:
    """The HTML site ships the PDF and the intro links to it; or neither."""
    problems = []
    shipped = html / PDF_NAME
    intro = html / "book" / "intro.html"
    links = intro.is_file() and f'href="../{PDF_NAME}"' in intro.read_text()
    if not shipped.is_file():
        problems.append(f"the site has no {PDF_NAME} (the HTML build copies it in where "
                        "_build/latex has it: rebuild the HTML after `make pdf`)")
        if links:
            problems.append(f"book/intro.html links to {PDF_NAME}, which the site lacks")
    else:
        if shipped.read_bytes() != pdf.read_bytes():
            problems.append(f"the site's {PDF_NAME} is not the PDF just built")
        if not links:
            problems.append(f"book/intro.html has no link to {PDF_NAME}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdf", type=Path, default=PDF)
    parser.add_argument("--log", type=Path, default=None,
                        help="LaTeX log (default: beside the PDF)")
    parser.add_argument("--html", type=Path, default=None,
                        help="built site that must ship the PDF and link to it from the intro")
    args = parser.parse_args(argv)
    r = check(args.pdf, args.log, args.html)
    for e in r.errors:
        print(f"ERROR: {e}")
    if not r.errors:
        total = len(r.chapters_found) + len(r.chapters_missing)
        print(f"pages: {r.pages}")
        print(f"chapters found: {len(r.chapters_found)} of {total}")
        for t in r.chapters_missing:
            print(f"  MISSING chapter: {t}")
        print(f"unresolved references ('??' in the text): {len(r.unresolved)}")
        for u in r.unresolved[:20]:
            print(f"  ...{u}...")
        print(f"undefined references in the LaTeX log: {len(r.undefined_refs)}")
        for u in r.undefined_refs[:20]:
            print(f"  {u}")
        print(f"missing characters in the LaTeX log: {len(r.missing_glyphs)}")
        for m in sorted(set(r.missing_glyphs))[:20]:
            print(f"  {m}")
        print(f"LaTeX errors in the log: {len(r.latex_errors)}")
        for e in r.latex_errors[:20]:
            print(f"  {e}")
        if args.html is not None:
            print(f"site ({args.html}): " + ("ships the PDF, the intro links to it"
                                            if not r.site else "; ".join(r.site)))
    print("PDF check: " + ("OK" if r.ok else "FAILED"))
    return 0 if r.ok else 1


if __name__ == "__main__":
    sys.exit(main())
