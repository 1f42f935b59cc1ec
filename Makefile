# Two commands do everything on a fresh machine with Python 3.10+:
#   make book   build the rendered book into _build/html (creates .venv first)
#   make test   build the book (a warm rebuild takes seconds), then run every test:
#               unit tests, notebooks under nbval, browser checks of the built pages
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test env clean clean-cache execute pdf

env: $(STAMP)

# torch first: on machines that carry a CPU wheel on disk, pip takes it from there;
# requirements.txt keeps the range open (torch>=2.4) so that wheel satisfies it.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0" || $(BIN)/python -m pip install --quiet "torch>=2.4"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

# Unit tests (tests/), the Examples in the package's docstrings (--doctest-modules on
# vae_tutorial, about 20 s) and every chapter notebook under nbval, which re-runs it and compares
# its outputs with the saved ones (tests/nbval_sanitize.cfg masks addresses, timings, progress bars).
test: book
	$(BIN)/python -m pytest tests book vae_tutorial --doctest-modules --nbval --nbval-current-env --nbval-cell-timeout=300 --nbval-sanitize-with tests/nbval_sanitize.cfg; \
	rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

clean:
	rm -rf _build

clean-cache:
	rm -rf _build .jupyter_cache

# Re-execute one chapter in place so its saved outputs (compared by nbval) are current:
#   make execute NB=book/07_vae_on_digits.ipynb
execute: $(STAMP)
	$(BIN)/python -m tools.execute $(NB)

# A PDF of the book through XeLaTeX, into _build/latex/vae-derived.pdf, then checked by
# tools/check_pdf.py (every chapter in it, no "??", no missing glyph) and copied into the site
# (_build/html/vae-derived.pdf); the next HTML build links to it from the intro (and ships it
# again). .ci/run builds it. 1-3 min after `make book` (notebooks come from the cache; the next
# `make book` reads every page again, since the LaTeX builder numbers figures differently).
# Needs Debian's TeX Live and poppler-utils (pdftotext), about 350 MB installed:
#   apt-get install --no-install-recommends texlive-latex-recommended texlive-fonts-recommended \
#     texlive-latex-extra texlive-xetex latexmk tex-gyre fonts-freefont-otf poppler-utils
# (jupyter-book exits 0 even where LaTeX fails: the old PDF goes first, so none is left to pass.)
pdf: $(STAMP)
	rm -f _build/latex/vae-derived.pdf
	$(BIN)/jupyter-book build . --builder pdflatex
	$(BIN)/python -m tools.check_pdf
	if [ -d _build/html ]; then cp _build/latex/vae-derived.pdf _build/html/; fi
