r"""Chapter 6's explorer (:func:`vae_tutorial.explorers.change_of_variables_explorer`).

* ``test_change_of_variables_explorer_spec`` (no browser): the output is the Vega-Lite 5 bundle
  that JupyterLab draws natively, its four sliders carry names with units, its plain-text
  summary is deterministic and prints the package's numbers, and bad arguments raise.
* ``test_change_of_variables_explorer_in_the_page`` (Chromium, every other host blocked, laptop
  and phone): each slider (μ, σ, the interval's start a and width w) is moved to at least three
  values with the keyboard and the mouse; after each move

  - the two probabilities of the interval, Φ(a + w) − Φ(a) and the image's under
    N(μ, σ²) (Vega's ``cumulativeNormal``), equal ``torch.distributions.Normal(...).cdf``
    differences to 1e-9 relative;
  - log |det J| = log σ equals ``joint.log_det_jacobian``, log q(z) at the interval's left end
    equals ``losses.log_normal_diag``, and log N(ε; 0, 1) − log σ equals
    ``losses.log_standard_normal`` minus ``joint.log_det_jacobian`` (and log q(z));
  - the drawn densities on the page's grid (q(ε) and q(z)), the map z = μ + σε, and the shaded
    interval and its image (q(z) there computed as N(ε; 0, 1) / σ) equal the package's;
  - the printed text shows these numbers, and the drawing changes.

  Each control answers within 1 s; on the phone each slider track is at least 150 px wide;
  no page is wider than the screen or heavier than 6.6 MB (``tests/explorer_harness.py``).
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from explorer_harness import (  # noqa: F401 (fixtures)
    HTML,
    REL,
    VIEWPORTS,
    base_url,
    browser,
    check_response_times,
    explorer_state_js,
    move_each_control,
    open_explorer,
    response_times,
)

from vae_tutorial import explorers, joint, losses
from vae_tutorial.explorers.spec import WIDTH

COV_PAGE = "book/06_joint_likelihood.html"
COV_NAME = "change-of-variables"
COV_CONTROLS = {
    "mu": "mean μ (units of z)",
    "sigma": "standard deviation σ (units of z)",
    "a": "interval start a (units of ε)",
    "w": "interval width (units of ε)",
}
N_GRID, N_BAND, LIM = 481, 101, 6.0
F64 = torch.float64


def _t(v: float) -> torch.Tensor:
    return torch.tensor([v], dtype=F64)


def _package(mu: float, sigma: float, a: float, w: float) -> dict[str, float]:
    """Every printed number of the explorer, from the package, in float64."""
    b = a + w
    z_a, z_b = mu + sigma * a, mu + sigma * b
    std = torch.distributions.Normal(_t(0.0), _t(1.0))
    q = torch.distributions.Normal(_t(mu), _t(sigma))
    logvar = _t(2 * math.log(sigma))
    log_det = float(joint.log_det_jacobian(logvar))
    log_n_eps = float(losses.log_standard_normal(_t(a)))
    return {"b": b, "z_a": z_a, "z_b": z_b,
            "p_eps": float(std.cdf(_t(b)) - std.cdf(_t(a))),
            "p_z": float(q.cdf(_t(z_b)) - q.cdf(_t(z_a))),
            "log_det": log_det,
            "log_q_z": float(losses.log_normal_diag(_t(z_a), _t(mu), logvar)),
            "log_n_eps": log_n_eps,
            "log_q_jac": log_n_eps - log_det}


def _fmt(value: float, spec: str) -> str:
    """Python's format as d3-format prints it: a negative number that rounds to zero has no
    sign."""
    text = format(value, spec)
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def test_change_of_variables_explorer_spec():
    ex = explorers.change_of_variables_explorer(mu=-0.5, sigma=1.5, a=-1.0, width=2.0)
    bundle = ex._repr_mimebundle_()
    assert set(bundle) == {explorers.MIME_TYPE, "text/plain"}
    spec = bundle[explorers.MIME_TYPE]
    assert spec["$schema"].endswith("/vega-lite/v5.json")
    assert spec["usermeta"] == {"explorer": COV_NAME, "panel_width": WIDTH}
    bound = {p["name"]: p for p in spec["params"] if "bind" in p}
    assert {n: p["bind"]["name"].strip() for n, p in bound.items()} == COV_CONTROLS
    assert [bound[n]["value"] for n in COV_CONTROLS] == [-0.5, 1.5, -1.0, 2.0]
    assert all(p["bind"]["input"] == "range" for p in bound.values())
    # the probabilities are Vega's cumulativeNormal, which the shipped Vega build has
    exprs = {p["name"]: p.get("expr", "") for p in spec["params"]}
    assert "cumulativeNormal(b, 0, 1)" in exprs["p_eps"]
    vega_js = HTML / "_static" / "vega" / "vega.min.js"
    if vega_js.is_file():
        assert "cumulativeNormal" in vega_js.read_text(encoding="utf-8")
    # the summary: deterministic, the package's numbers
    want = _package(-0.5, 1.5, -1.0, 2.0)
    text = bundle["text/plain"]
    for key in ("p_eps", "p_z", "log_det", "log_q_z", "log_n_eps"):
        assert f"{want[key]:.6f}" in text, (key, want[key], text)
    assert abs(want["log_q_z"] - want["log_q_jac"]) < 1e-12
    again = explorers.change_of_variables_explorer(mu=-0.5, sigma=1.5, a=-1.0, width=2.0)
    assert again.summary == text and again.to_json() == ex.to_json()
    json.dumps(spec)  # JSON-serializable
    # bad arguments name themselves
    with pytest.raises(ValueError, match=r"sigma must be in \[0.25, 2.5\].*; got 0.0"):
        explorers.change_of_variables_explorer(sigma=0.0)
    with pytest.raises(ValueError, match=r"width must be in \[0.1, 3\].*; got -1"):
        explorers.change_of_variables_explorer(width=-1)
    with pytest.raises(ValueError, match="a must be finite; got nan"):
        explorers.change_of_variables_explorer(a=float("nan"))
    with pytest.raises(ValueError, match=r"mu must be in \[-2, 2\]"):
        explorers.change_of_variables_explorer(mu=5.0)
    with pytest.raises(TypeError, match="mu must be a real number; got str"):
        explorers.change_of_variables_explorer(mu="0")
    with pytest.raises(TypeError, match="sigma must be a real number; got bool"):
        explorers.change_of_variables_explorer(sigma=True)


# The state of the explorer: its sliders, its printed text, the Vega signals behind the printed
# numbers, the grid of the drawn curves (the data of a mark with t, q_eps, q_z, z_map), the
# shaded interval (a mark with j, eps, z, q_eps, q_z) and the drawn marks (the SVG paths).
COV_STATE_JS = explorer_state_js("""
  let grid = [], band = [];
  walkScene((node) => {  // the drawn marks' data: the first curve and the first band
    const d = node.datum;
    if (d && 'z_map' in d && 'q_z' in d && node.mark && !grid.length)
      grid = node.mark.items.map((i) => i.datum)
        .map((r) => [r.t, r.log_q_eps, r.log_q_z, r.q_eps, r.q_z, r.z_map]);
    if (d && 'j' in d && 'q_z' in d && node.mark && !band.length)
      band = node.mark.items.map((i) => i.datum)
        .map((r) => [r.j, r.eps, r.z, r.log_q_eps, r.q_eps, r.q_z]);
  });
  const signals = signalsOf(['b', 'z_a', 'z_b', 'p_eps', 'p_z', 'log_det', 'log_n_eps',
                             'log_q_z', 'log_q_jac']);
  return {sliders, texts, lines, signals, grid, band, paths: drawn()};
""")


def _check_cov(state: dict) -> float:
    """One state of the explorer against the package; returns the largest relative gap."""
    v = {n: float(state["sliders"][label]) for n, label in COV_CONTROLS.items()}
    mu, sigma, a, w = v["mu"], v["sigma"], v["a"], v["w"]
    want = _package(mu, sigma, a, w)
    page = state["signals"]
    gaps = []

    def rel(name: str, page_value: float, pkg: float, *, pure: bool = False) -> None:
        # probabilities: relative to themselves; the rest relative to max(1, |value|)
        gaps.append(abs(page_value - pkg) / (abs(pkg) if pure else max(1.0, abs(pkg))))
        assert gaps[-1] <= REL, (name, v, page_value, pkg)

    for key in ("b", "z_a", "z_b", "log_det", "log_q_z", "log_n_eps", "log_q_jac"):
        rel(key, page[key], want[key])
    rel("p_eps", page["p_eps"], want["p_eps"], pure=True)
    rel("p_z", page["p_z"], want["p_z"], pure=True)
    # the identities the explorer prints: P the same on both sides, log q via the Jacobian
    rel("p_z = p_eps", page["p_z"], want["p_eps"], pure=True)
    rel("log q(z) via the Jacobian", page["log_q_jac"], want["log_q_z"])

    logvar = _t(2 * math.log(sigma))
    grid = torch.tensor(state["grid"], dtype=F64)  # (N, 6): t, log q_eps, log q_z, q's, map
    assert grid.shape == (N_GRID, 6), grid.shape
    t = grid[:, :1]
    want_t = -LIM + (2 * LIM / (N_GRID - 1)) * torch.arange(N_GRID, dtype=F64)
    assert torch.allclose(t[:, 0], want_t, rtol=0, atol=1e-12)
    log_q_eps = losses.log_standard_normal(t)                                  # (N,)
    log_q_z = losses.log_normal_diag(t, _t(mu), logvar, reduction="none")    # (N,)
    want_grid = torch.stack([log_q_eps, log_q_z, log_q_eps.exp(), log_q_z.exp(),
                             mu + sigma * t[:, 0]], dim=1)
    gaps.append(((grid[:, 1:] - want_grid).abs() / want_grid.abs().clamp(min=1.0)).max().item())
    assert gaps[-1] <= REL, ("grid", v, gaps[-1])

    band = torch.tensor(state["band"], dtype=F64)  # (M, 6): j, eps, z, log q_eps, q_eps, q_z
    assert band.shape == (N_BAND, 6), band.shape
    eps = a + w * band[:, 0] / (N_BAND - 1)
    z = mu + sigma * eps
    log_n = losses.log_standard_normal(eps[:, None])
    want_band = torch.stack([eps, z, log_n, log_n.exp(), losses.log_normal_diag(
        z[:, None], _t(mu), logvar, reduction="none").exp()], dim=1)
    gaps.append(((band[:, 1:] - want_band).abs() / want_band.abs().clamp(min=1.0)).max().item())
    assert gaps[-1] <= REL, ("shaded interval", v, gaps[-1])

    printed = {" ".join(x.replace("\u2212", "-").split()) for x in state["lines"]}
    f = {k: _fmt(want[k], ".6f") for k in ("p_eps", "p_z", "log_det", "log_q_z", "log_n_eps",
                                           "log_q_jac")}
    lines = [
        f"ε ∈ [{_fmt(a, '.2f')}, {_fmt(want['b'], '.2f')}]",
        f"↦ z ∈ [{_fmt(want['z_a'], '.3f')}, {_fmt(want['z_b'], '.3f')}]",
        f"P(ε in interval) = {f['p_eps']}",
        f"P(z in image) = {f['p_z']}",
        f"log |det J| = log σ = {f['log_det']}",
        f"at the dot, log q(z) = {f['log_q_z']}",
        f"log N(ε; 0, 1) = {f['log_n_eps']}",
        f"log N(ε) - log σ = {f['log_q_jac']}",
    ]
    missing = [line for line in lines if line not in printed]
    assert not missing, (missing, sorted(printed)[:10])
    return max(gaps)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_change_of_variables_explorer_in_the_page(browser, base_url, viewport):  # noqa: F811
    with open_explorer(browser, base_url, COV_PAGE, COV_NAME, viewport) as (page, handle, log):
        largest, values = move_each_control(
            page, handle, viewport, COV_CONTROLS, COV_STATE_JS, _check_cov,
            keys=("ArrowRight", "End", "Home"), click_at=0.3,
        )
        times = response_times(page, handle, COV_CONTROLS.values())
    check_response_times(times)
    print(f"\n{viewport}: change-of-variables explorer, largest relative difference page vs "
          f"package {largest:.2e}; slowest answer {max(times):.1f} ms (median "
          f"{sorted(times)[len(times) // 2]:.1f}); page weight {log['total_bytes'] / 1e6:.2f} MB;"
          f" values per control { {n: len(x) for n, x in values.items()} }")
