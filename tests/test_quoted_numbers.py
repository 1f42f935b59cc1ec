r"""Every measured number quoted in a notebook's text is one the notebook prints (issue 14, item 2).

For each chapter (``book/0*.ipynb``) and the homework notebooks, the numbers quoted in the
markdown cells (prose, notes, exercise solutions in dropdown or admonition blocks) that look
like *measured results* must each appear among the numbers the same notebook prints: the
``stream`` outputs and the ``text/plain`` of its code cells' results. The test reads the
notebooks' JSON only (no kernel).

The convention, what counts as a quoted result (chosen so that the test can fail and is not
noisy):

* Quoted: a number with a decimal point and at least two significant digits or two decimals
  (``-22.99``, ``0.2350``, ``0.04``, ``7.5``, ``242.6``, ``1.74x``, ``23.5%``), or a number in
  scientific notation (``9.47e-7``, ``$3.7 \times 10^{-44}$``, ``$2.6 \cdot 10^{-5}$``), in
  prose or in inline math.
* Not quoted: integers and one-digit decimals such as ``0.3`` (parameters, counts, sizes);
  display math (``$$ ... $$``, ``{math}`` blocks: definitions and derivations); exponents and
  subscripts in math (``e^{-100}``, ``\mathcal{L}_{1024}``); code (fenced blocks, inline
  ``code``); MyST roles and directive options (``{cite}``, ``{eq}``, ``:label:``); link
  targets; numbers after ``chapter``, ``section``, ``eq.``, ``theorem``, ``figure``,
  ``table``, ``version`` and the like.
* A parameter is not a result: a quoted value that also stands in a code cell's source or in a
  code block of the markdown (an exercise's code) is passed over.

A quoted number matches a printed one when the printed value rounded to the quoted precision is
the quoted value (printed ``0.23497`` matches ``0.2350``, ``0.235`` and ``0.23``, not
``0.236``; printed ``9.47e-07`` matches ``9.5e-7``); a number quoted without a sign may be
printed negative (a gap quoted as a positive number), one quoted with a minus must be printed
negative, and a percentage may be quoted for a printed fraction or the other way round.

Two small lists take the rest, each entry with its reason; an entry whose number the text no
longer quotes fails the test, so both lists stay true:

* :data:`CLOSED_FORM`: numbers the text computes by hand from constants (``(5/3)^20``,
  ``log_2 17``), each with the Python expression that the test evaluates and compares like a
  printed number; a number from a paper would go here with ``None``.
* :data:`NOT_YET_PRINTED`: quoted results that no cell prints yet (mostly an exercise
  solution's code, which the notebook does not run). Empty since the exercise solutions'
  numbers are printed by each chapter's last cells; an entry would be an open item of issue 14.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = sorted(BOOK.glob("0*.ipynb")) + sorted(BOOK.glob("homework*.ipynb"))

#: (notebook, quoted number as written) -> (a Python expression giving its value, or None for a
#: number from the literature, and why the notebook need not print it).
CLOSED_FORM: dict[tuple[str, str], tuple[str | None, str]] = {
    ("01_latent_variable_models", "2.7e4"): (
        "(5 / 3) ** 20", "rho^L of the naive-MC theorem at sigma_x = 0.5, L = 20, by hand"),
    ("01_latent_variable_models", "2.7e6"): (
        "((5 / 3) ** 20 - 1) / 0.01", "the theorem's K for a 10% error at L = 20, by hand"),
    ("01_latent_variable_models", "1.5e24"): (
        "((5 / 3) ** 100 - 1) / 0.01", "the theorem's K for a 10% error at L = 100, by hand"),
    ("01_latent_variable_models", "0.51"): ("math.log(5 / 3)", "log rho, by hand"),
    ("01_latent_variable_models", "3.9"): ("math.log(50)", "log 50, by hand"),
    ("02_kl_divergence", "6.25"): ("2.5 ** 2", "mu_1^2 in the mixture's variance, by hand"),
    ("02_kl_divergence", "5.502"): (
        "0.45 * (0.6 + 2.5 ** 2) + 0.55 * (0.4 + 2 ** 2) - 0.025 ** 2",
        "the mixture's variance, by hand (the forward fit's printed sd 2.346 agrees)"),
    ("04_importance_sampling", "1.2e-38"): ("2.0 ** -126", "float32's smallest normal number"),
    ("04_importance_sampling", "0.14"): (
        "4.2630 - 4.1261", "the Student-t estimate's distance to the exact -4.1261, both printed"),
    ("05_reparameterization", "3.2"): (
        "0.079 / 0.025", "the steepest fourfold fall of the printed IWAE SNR column, by hand"),
    ("05_reparameterization", "7.5"): ("30 / 4", "the exercise's closed-form variance ratio"),
    ("05_reparameterization", "1.5"): (None, "a coefficient of the formula 1.5 L + 3"),
    ("07_vae_on_digits", "3.2"): ("math.sqrt(20) / math.sqrt(2)", "sqrt(20)/sqrt(2), by hand"),
    ("07_vae_on_digits", "4.5"): ("math.sqrt(20)", "sqrt(20), by hand"),
    ("08_vaes_in_practice", "4.09"): ("math.log2(17)", "bits per pixel of the uniform model"),
}

#: (notebook, quoted number as written) -> where it comes from. Open items of issue 14: each is
#: a result the text quotes and no cell prints.
NOT_YET_PRINTED: dict[tuple[str, str], str] = {
    # empty: every quoted result is printed (issue 14, item 2). An entry here names a quoted
    # number that no cell prints yet, with the reason; print it or reword, then delete it.
}

# ---------------------------------------------------------------------------------------------
# numbers as written

_MINUS = "\u2212"
# optional sign, digits (thousands separated by `,`, `\,` or `{,}` in groups of three),
# decimals, exponent, percent; not part of a word, a version (1.2.3) or a name (ch4, 8x8)
NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-+])?(?P<int>\d{1,3}(?:(?:,|\\,|\{,\})\d{3})+|\d+)(?P<frac>\.\d+)?"
    r"(?:[eE](?P<exp>[-+]?\d+))?(?![\w.]*\d)(?P<pct>\s?(?:\\?%|percent))?")
# `3.7 \times 10^{-44}`, `2.7 \cdot 10^6` in math: scientific notation
TIMES_TEN = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\\times|\\cdot|×)\s*10\^\{?\s*([-+]?\d+)\s*\}?")
# words after which a number is a reference, not a result
REFERENCE = re.compile(
    r"(?:chapters?|ch\.|sections?|sec\.|§|eqs?\.|equations?|theorems?|lemmas?|propositions?|"
    r"corollar(?:y|ies)|figures?|fig\.|tables?|appendix|algorithms?|exercises?|items?|issues?|"
    r"versions?|v|python|pytorch|torch|numpy|page|pp?\.)\s*\(?$", re.IGNORECASE)


@dataclass(frozen=True)
class Number:
    """A number as written: its text, its value, the unit of its last digit, whether a
    percentage."""

    text: str
    value: float
    ulp: float
    percent: bool = False

    @property
    def mantissa(self) -> str:
        return re.split(r"[eE%\s\\]|percent", self.text.lstrip("+-"))[0]

    @property
    def sig_digits(self) -> int:
        return len(re.sub(r"\D", "", self.mantissa).lstrip("0"))


def _parse(m: re.Match) -> Number:
    digits = re.sub(r",|\\,|\{,\}", "", m["int"]) + (m["frac"] or "")
    exp = int(m["exp"] or 0)
    decimals = len(m["frac"]) - 1 if m["frac"] else 0
    value = float(digits) * 10.0 ** exp * (-1 if m["sign"] == "-" else 1)
    return Number(m.group(0).strip(), value, 10.0 ** (exp - decimals), bool(m["pct"]))


def numbers_in(text: str) -> list[Number]:
    """Every number in ``text`` (a Unicode minus read as ``-``)."""
    return [_parse(m) for m in NUMBER.finditer(text.replace(_MINUS, "-"))]


def is_result(n: Number) -> bool:
    """The convention: scientific notation, or a decimal point with two or more significant
    digits or two or more decimals."""
    if re.search(r"\d[eE][-+]?\d", n.text):
        return True
    if "." not in n.mantissa:
        return False
    return n.sig_digits >= 2 or len(n.mantissa.split(".")[1]) >= 2


# ---------------------------------------------------------------------------------------------
# what a markdown cell quotes

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                    re.MULTILINE | re.DOTALL)
_KEEP_BODY = re.compile(r"\{(?!math|code|literalinclude|eval-rst)[\w:-]+\}")
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$|\\begin\{(?P<env>[a-zA-Z*]+)\}.*?\\end\{(?P=env)\}",
                           re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
_ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)|<https?://[^>]*>|https?://\S+")
_OPTION = re.compile(r"^[ \t]*:[\w-]+:.*$", re.MULTILINE)
_TAG = re.compile(r"<[^>\n]+>")
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(?P<body>[^$]+?)(?<!\\)\$")
_SCRIPT = re.compile(r"[_^]\s*(?:\{[^{}]*\}|\\?\w)")
_COMMAND = re.compile(r"\\[a-zA-Z]+")


def code_in_markdown(source: str) -> list[str]:
    """The code of a markdown cell: fenced code blocks (not MyST directives such as an
    exercise or a solution, whose bodies are searched in turn) and inline code."""
    code: list[str] = []

    def fence(m: re.Match) -> str:
        if _KEEP_BODY.match(m["info"].strip()):
            return _FENCE.sub(fence, m["body"])
        code.append(m["body"])
        return "\n"

    rest = _FENCE.sub(fence, source)
    return code + [m.group(0) for m in _INLINE_CODE.finditer(rest)]


def prose(source: str) -> str:
    """A markdown cell's text with code, display math, roles, directive options, link targets
    and HTML tags taken out and inline math reduced to its numbers; the bodies of MyST
    directives (notes, exercises, solutions, theorems) are kept, ``{math}`` blocks are not."""

    def fence(m: re.Match) -> str:
        if _KEEP_BODY.match(m["info"].strip()):
            return "\n" + _FENCE.sub(fence, m["body"])
        return "\n"

    def math(m: re.Match) -> str:
        body = TIMES_TEN.sub(lambda t: f"{t[1]}e{t[2]}", m["body"])
        return " " + _COMMAND.sub(" ", _SCRIPT.sub(" ", body)) + " "

    text = _FENCE.sub(fence, source)
    for pattern in (_DISPLAY_MATH, _ROLE, _INLINE_CODE, _OPTION, _TAG):
        text = pattern.sub(" ", text)
    text = _LINK_TARGET.sub("]", text)
    return _INLINE_MATH.sub(math, text).replace(_MINUS, "-")


def quoted_numbers(source: str) -> list[Number]:
    """The measured results a markdown cell quotes (the module docstring's convention)."""
    text = prose(source)
    return [n for m in NUMBER.finditer(text)
            if not REFERENCE.search(text[max(0, m.start() - 24):m.start()])
            and is_result(n := _parse(m))]


# ---------------------------------------------------------------------------------------------
# what a notebook prints and sets


def _text(value) -> str:  # noqa: ANN001
    return value if isinstance(value, str) else "".join(value)


def printed_numbers(nb: dict) -> list[Number]:
    """Every number in the code cells' ``stream`` outputs and ``text/plain`` results."""
    out = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            if o.get("output_type") == "stream":
                out += numbers_in(_text(o.get("text", "")))
            elif "text/plain" in o.get("data", {}):
                out += numbers_in(_text(o["data"]["text/plain"]))
    return out


def parameters(nb: dict) -> set[float]:
    """The absolute value of every number written as code: the code cells' sources and the
    markdown's code blocks and inline code (``65_536`` read as 65536)."""
    code = [_text(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    code += [s for c in nb["cells"] if c["cell_type"] == "markdown"
             for s in code_in_markdown(_text(c["source"]))]
    return {abs(n.value) for text in code for n in numbers_in(re.sub(r"(?<=\d)_(?=\d)", "",
                                                                      text))}


def matches(quoted: Number, value: float, percent: bool = False) -> bool:
    """Whether ``value`` rounded to the quoted precision is the quoted number (a number quoted
    without a sign matches either sign; a percentage matches a fraction and the other way
    round)."""
    values = [value]
    if quoted.percent and not percent:
        values.append(value * 100)
    elif percent and not quoted.percent:
        values.append(value / 100)
    q = abs(quoted.value)
    if quoted.value < 0:
        values = [v for v in values if v < 0]
    return any(abs(abs(v) - q) <= 0.5 * quoted.ulp * (1 + 1e-9) + 1e-12 * q for v in values)


def nearest(quoted: Number, printed: list[Number], n: int = 3) -> list[str]:
    """The ``n`` printed numbers closest to the quoted one (relative distance, either sign),
    as printed."""
    q = abs(quoted.value)
    by_text = {p.text: p for p in printed}
    ranked = sorted(by_text.values(), key=lambda p: abs(abs(p.value) - q) / max(q, 1e-300))
    return [p.text for p in ranked[:n]]


@dataclass(frozen=True)
class Mismatch:
    cell: int
    quoted: Number
    nearest: tuple[str, ...]


def check_notebook(nb: dict, name: str) -> tuple[list[Mismatch], set[tuple[str, str]]]:
    """The quoted results of notebook ``name`` that it does not print and that neither list
    names, and the keys of the two lists that its text quotes."""
    printed = printed_numbers(nb)
    params = parameters(nb)
    bad, listed = [], set()
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for q in quoted_numbers(_text(cell["source"])):
            key = (name, q.text)
            if key in CLOSED_FORM or key in NOT_YET_PRINTED:
                listed.add(key)
                continue
            if abs(q.value) in params:
                continue
            if not any(matches(q, p.value, p.percent) for p in printed):
                bad.append(Mismatch(i, q, tuple(nearest(q, printed))))
    return bad, listed


@cache
def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# the tests


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_quoted_numbers_are_printed(path: Path) -> None:
    bad, listed = check_notebook(_load(path), path.stem)
    assert not bad, (
        f"{path.name}: numbers quoted in the text that no output prints (copy them from the "
        "output, or list them in tests/test_quoted_numbers.py with a reason):\n" + "\n".join(
            f"  cell {m.cell}: quoted {m.quoted.text!r}; nearest printed: "
            f"{', '.join(m.nearest)}" for m in bad))
    stale = {k for k in (*CLOSED_FORM, *NOT_YET_PRINTED) if k[0] == path.stem} - listed
    assert not stale, f"{path.name} no longer quotes these listed numbers: delete them {stale}"


def test_closed_forms_are_right() -> None:
    """Each by-hand number of :data:`CLOSED_FORM` is its expression, to the quoted digits."""
    for (name, text), (expr, _) in CLOSED_FORM.items():
        (quoted,) = numbers_in(text)
        if expr is not None:
            value = eval(expr, {"math": math})  # noqa: S307 (the expressions above)
            assert matches(quoted, value), (name, text, expr, value)
    assert not set(CLOSED_FORM) & set(NOT_YET_PRINTED)
    assert {n for n, _ in (*CLOSED_FORM, *NOT_YET_PRINTED)} <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize(("source", "want"), [
    ("the gap is -22.99 nats, a ratio of 1.74x", ["-22.99", "1.74"]),
    ("an estimate $-4.1208$ lies $0.0052$ above", ["-4.1208", "0.0052"]),
    ("about $2.6 \\cdot\n10^{-5}$ and $3.7 \\times 10^{-44}$, or 9.47e-07", [
        "2.6e-5", "3.7e-44", "9.47e-07"]),
    ("an ESS of 23.5% and 0.04 nats, \u22121.25 bits", ["23.5%", "0.04", "-1.25"]),
    # not results: references, integers, one-digit decimals, code, display math, roles, scripts
    ("section 2.3, eq. 4.2, version 1.10, Python 3.10, chapter 8, 2016, 784, 1,350 and 0.3", []),
    ("`lr=1e-3` and $\\mathcal{L}_{1024}$, $e^{-87.3}$ {cite}`burda2016` {eq}`eq-4.2`", []),
    ("$$\nx = 0.2350\n$$\n```{math}\ny = 1.25\n```\n```python\nprint(3.14)\n```", []),
    ("````{solution} ex-1\n:class: dropdown\nthe bound is 0.2350\n````", ["0.2350"]),
    ("![a](fig-0.25.png) [link](https://x.org/1.23) <img width=12.5>", []),
])
def test_the_convention(source: str, want: list[str]) -> None:
    assert [n.text for n in quoted_numbers(source)] == want


@pytest.mark.parametrize(("quoted", "printed", "percent", "ok"), [
    ("0.2350", 0.23497, False, True), ("0.235", 0.23497, False, True),
    ("0.23", 0.23497, False, True), ("0.236", 0.23497, False, False),
    ("0.2351", 0.23497, False, False), ("9.5e-7", 9.47e-7, False, True),
    ("9.4e-7", 9.47e-7, False, False), ("22.99", -22.99, False, True),
    ("-0.14", 0.141, False, False), ("-0.14", -0.141, False, True),
    ("23.5%", 0.2350, False, True), ("0.235", 23.5, True, True),
    ("0.04", 4.0, False, False), ("1,350.5", 1350.46, False, True),
])
def test_matching(quoted: str, printed: float, percent: bool, ok: bool) -> None:
    (q,) = numbers_in(quoted)
    assert matches(q, printed, percent) is ok


def test_a_changed_quote_fails() -> None:
    """Mutation: in a copy of each notebook, change the last digit (by 5) of each quoted result
    with three or more significant digits; every changed quote that no output prints must then
    be reported."""
    wrong, reported = [], []
    for path in NOTEBOOKS:
        changed = json.loads(json.dumps(_load(path)))
        printed = printed_numbers(changed)
        for cell in changed["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            source = _text(cell["source"])
            for q in quoted_numbers(source):
                key = (path.stem, q.text)
                if key in CLOSED_FORM or key in NOT_YET_PRINTED or q.sig_digits < 3:
                    continue
                # the last digit as written: of the number, or of the mantissa of one written
                # in TeX ($2.63 \times 10^{-9}$, read as 2.63e-9)
                raw = q.text if q.text in source else q.mantissa
                raw_new = raw[:-1] + str((int(raw[-1]) + 5) % 10)
                new = raw_new + q.text[len(raw):]
                (n,) = numbers_in(new)
                # (a changed number that another output happens to print stays unreported)
                if raw_new not in source and not any(matches(n, p.value, p.percent)
                                                     for p in printed):
                    source = source.replace(raw, raw_new, 1)
                    wrong.append((path.stem, new))
            cell["source"] = source
        reported += [(path.stem, m.quoted.text) for m in check_notebook(changed, path.stem)[0]]
    assert len(wrong) >= 20, wrong
    assert sorted(reported) == sorted(wrong)
