r"""The building blocks of every explorer: the :class:`Explorer` output and Vega-Lite pieces.

An explorer is a Vega-Lite 5 specification whose controls are parameters bound to HTML range
inputs and whose curves and numbers are Vega expressions. This module holds what all of them
share: the output type with its MIME bundle, the slider parameter (a visible and accessible
name with units), the Vega expressions of the Gaussian formulas that the explorers evaluate in
the page (each one checked against :mod:`vae_tutorial.losses` by a browser test), and the
common chart style.

Introduced in the chapter "Latent variable models and Bayes' rule" (the first explorer).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from vae_tutorial.plotting import OKABE_ITO

__all__ = [
    "CONFIG",
    "MIME_TYPE",
    "P_COLOR",
    "Q_COLOR",
    "SCHEMA",
    "WIDTH",
    "Explorer",
    "kl_normal_expr",
    "log_normal_expr",
    "rename_series",
    "slider",
]

#: The MIME type of an explorer's output (Vega-Lite 5, drawn natively by JupyterLab 4).
MIME_TYPE = "application/vnd.vegalite.v5+json"
#: The ``$schema`` of every specification.
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
#: Colours of q and p, as in the chapters' figures (:mod:`vae_tutorial.plotting`).
Q_COLOR, P_COLOR = OKABE_ITO[5], OKABE_ITO[4]
#: Width of each panel in pixels. On a column narrower than the drawing (a phone) the book's
#: loader draws every panel of this width narrower, as wide as the column allows (the
#: specification's ``usermeta.panel_width`` names the width it replaces).
WIDTH = 520
#: The chart style shared by the explorers (legends above, axis text of 12-13 px).
CONFIG: dict[str, Any] = {
    "legend": {"orient": "top", "labelLimit": 400, "labelFontSize": 13,
               "symbolStrokeWidth": 2, "symbolSize": 300},
    "axis": {"labelFontSize": 12, "titleFontSize": 13},
    "title": {"fontSize": 14},
    "view": {"stroke": None},
}


class Explorer:
    """A Vega-Lite specification with the MIME bundle that Jupyter and the book draw.

    Displayed as the last expression of a cell, it draws itself: JupyterLab renders the MIME
    type :data:`~vae_tutorial.explorers.spec.MIME_TYPE` natively (no internet), and the
    book's extension ``book/_ext/vega_explorers.py`` draws it in the static page.

    Attributes:
        name: A short identifier (``"kl"``), written into the page as ``data-explorer``.
        spec: The Vega-Lite specification (a JSON-serializable dict).
        summary: One line of plain text, shown where the chart cannot be drawn (the PDF).
        panel_width: The width of the panels that the book's loader may draw narrower on a
            narrow column (written into the specification's ``usermeta``); ``None``: none.

    Example:
        >>> ex = Explorer("demo", {"$schema": SCHEMA, "mark": "point"}, "a demo")
        >>> sorted(ex._repr_mimebundle_())
        ['application/vnd.vegalite.v5+json', 'text/plain']
    """

    def __init__(self, name: str, spec: dict[str, Any], summary: str, *,
                 panel_width: int | None = WIDTH) -> None:
        self.name, self.spec, self.summary = name, spec, summary
        self.panel_width = panel_width

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:  # noqa: ANN001
        meta: dict[str, Any] = {"explorer": self.name}
        if self.panel_width is not None:
            meta["panel_width"] = self.panel_width
        spec = dict(self.spec, usermeta=meta)
        return {MIME_TYPE: spec, "text/plain": self.summary}

    def to_json(self) -> str:
        """The specification as JSON text."""
        return json.dumps(self.spec, sort_keys=True)

    def __repr__(self) -> str:
        return self.summary


def slider(name: str, value: float, lo: float, hi: float, step: float, label: str) -> dict:
    """A Vega-Lite parameter bound to a range input.

    Args:
        name: The parameter's name in the Vega expressions.
        value: Its initial value.
        lo, hi, step: The range input's bounds and step.
        label: The control's visible name, with units; the page's loader copies it into the
            input's ``aria-label``, so it is the accessible name too.

    Returns:
        The parameter, a dict for the specification's ``params``.

    Example:
        >>> slider("mu", 0.0, -3, 3, 0.1, "mean μ (units of z)")["bind"]["input"]
        'range'
    """
    return {"name": name, "value": value,
            "bind": {"input": "range", "min": lo, "max": hi, "step": step, "name": label + " "}}


def log_normal_expr(z: str, mu: str, sigma: str) -> str:
    r"""The Vega expression of :math:`\log \mathcal{N}(z; \mu, \sigma^2)` (nats).

    As :func:`vae_tutorial.losses.log_normal_diag` in one dimension, with the standard deviation
    ``sigma`` in place of the log-variance. Arguments are Vega expressions.

    Example:
        >>> log_normal_expr("datum.z", "0", "1")[:8]
        '-log(1) '
    """
    # log N(z; mu, sigma^2) = -log sigma - log(2 pi) / 2 - ((z - mu) / sigma)^2 / 2
    return (f"-log({sigma}) - 0.5 * log(2 * PI) "
            f"- 0.5 * (({z} - {mu}) / {sigma}) * (({z} - {mu}) / {sigma})")


def kl_normal_expr(m1: str, s1: str, m2: str, s2: str) -> str:
    r"""The Vega expression of :math:`\mathrm{KL}(\mathcal{N}(m_1, s_1^2) \,\|\,
    \mathcal{N}(m_2, s_2^2))` (nats), as :func:`vae_tutorial.losses.kl_normal_normal`.

    Example:
        >>> kl_normal_expr("a", "1", "a", "1").startswith("log(1 / 1)")
        True
    """
    # KL = log(s2 / s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2
    return (f"log({s2} / {s1}) + ({s1} * {s1} + ({m1} - {m2}) * ({m1} - {m2})) "
            f"/ (2 * {s2} * {s2}) - 0.5")


def rename_series(fields: Sequence[str], names: Sequence[str]) -> dict:
    """A ``calculate`` transform that names the series a ``fold`` of ``fields`` produced.

    Example:
        >>> rename_series(["q"], ["q(z)"])["as"]
        'series'
    """
    return {"calculate": " + ".join(f"(datum.series === '{f}' ? '{n}' : '')"
                                    for f, n in zip(fields, names, strict=True)),
            "as": "series"}
