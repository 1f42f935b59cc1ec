"""Properties of the homework functions that need no reference: KL >= 0, the ELBO below log p(x),
the IWAE bound rising with K towards it.

Part of :mod:`vae_tutorial.testing`; introduced on the page "Using the package in homework".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from vae_tutorial import losses
from vae_tutorial.testing.exact import lg_weights, quadrature_log_evidence, tiny_bernoulli_vae
from vae_tutorial.testing.inputs import rand
from vae_tutorial.testing.report import F64, K, L, Report, call, one, prop

# --------------------------------------------------------------------------------------------
# Properties that need no reference
# --------------------------------------------------------------------------------------------


def kl_properties(fn: Callable[..., Any], reduction: str | None, report: Report,
                   two_gaussians: bool, seed: int) -> None:
    g = torch.Generator().manual_seed(seed + 1)
    worst, at = math.inf, None
    for _ in range(50):
        mu, lv = rand(g, 1, L, scale=2.0), rand(g, 1, L, scale=3.0)
        args = (mu, lv, rand(g, 1, L), rand(g, 1, L)) if two_gaussians else (mu, lv)
        value, error = one(fn, args, {}, reduction)
        if error:
            prop(report, "KL >= 0 on 50 random Gaussians", False, error)
            return
        if value < worst:
            worst, at = value, args
    prop(report, "KL >= 0 on 50 random Gaussians", worst >= -1e-12,
          f"expected KL >= 0, received {worst:.6g} at mu, logvar = "
          f"{[a.tolist() for a in at] if at else None}")
    mu, lv = rand(g, 1, L), rand(g, 1, L)
    args = (mu, lv, mu, lv) if two_gaussians else (torch.zeros(1, L, dtype=F64),) * 2
    value, error = one(fn, args, {}, reduction)
    prop(report, "KL = 0 where q = p", not error and abs(value) <= 1e-12,
          error or f"expected 0, received {value:.6g}")


def _batch_mean(
    fn: Callable[..., Any], args: Sequence[Any], reduction: str | None, n: int
) -> tuple[float | None, str]:
    """The mean of the student's per-example values over a batch of ``n``, whatever its
    reduction."""
    kw = {"reduction": "none"} if reduction is None else {}
    out, error = call(fn, args, kw)
    if error:
        return None, error
    if not isinstance(out, torch.Tensor):
        return None, f"expected a torch.Tensor, received {type(out).__name__}"
    expected = (n,) if reduction in (None, "none") else ()
    if out.shape != expected:
        return None, f"returned shape {tuple(out.shape)} for a batch of {n} (expected {expected})"
    value = float(out.detach().to(F64).mean())
    return (value / n if reduction == "sum" else value), ""


def elbo_properties(fn: Callable[..., Any], reduction: str | None, report: Report,
                     seed: int, negative: bool = False) -> None:
    """The ELBO of any q is below the exact log p(x) of the tiny VAE (Monte Carlo, 5 SE)."""
    model = tiny_bernoulli_vae()
    g = torch.Generator().manual_seed(seed + 2)
    xs = torch.tensor([[1.0, 0, 1, 1, 0, 0, 1, 0], [0.0, 0, 0, 1, 1, 1, 1, 0]], dtype=F64)
    exact = quadrature_log_evidence(model, xs)
    qs = [([0.0, 0.0], [0.0, 0.0]), ([2.0, -1.5], [-2.0, -2.0]), ([-1.0, 0.5], [1.0, 1.0])]
    n = 4000
    name = ("-ELBO above the exact -log p(x)" if negative else
            "ELBO below the exact log p(x)") + " for 6 pairs (x, q), tiny Bernoulli VAE"
    with torch.no_grad():
        for i in range(xs.shape[0]):
            # one sample of z per row: a batch of n copies of x, each with its own sample
            x = xs[i].expand(n, -1).contiguous()
            for m, v in qs:
                mu = torch.tensor(m, dtype=F64).expand(n, -1)
                lv = torch.tensor(v, dtype=F64).expand(n, -1)
                z = mu + torch.exp(0.5 * lv) * torch.randn(n, 2, generator=g, dtype=F64)
                logits = model.decode(z)  # (n, D)
                value, error = _batch_mean(fn, (x, logits, mu, lv), reduction, n)
                if error:
                    prop(report, name, False, error)
                    return
                value = -value if negative else value
                # the Monte Carlo standard error of the mean over n samples
                se = float(losses.log_bernoulli(x, logits).std()) / math.sqrt(n)
                if value > float(exact[i]) + 5 * se + 1e-9:
                    prop(report, name, False,
                          f"at x = {xs[i].tolist()}, q = N({m}, diag exp({v})): expected at "
                          f"most log p(x) = {float(exact[i]):.6g} (+5 SE = {5 * se:.2g}), "
                          f"received {value:.6g}")
                    return
    prop(report, name, True, "")


def weights_properties(fn: Callable[..., Any], reduction: str | None, report: Report,
                        seed: int, iwae: bool) -> None:
    g = torch.Generator().manual_seed(seed + 3)
    lw = rand(g, K, 1, scale=2.0)
    # K = 1: the single log weight
    value, error = one(fn, (lw[:1],), {}, reduction)
    prop(report, "K = 1 gives the log weight itself", not error and abs(value - float(lw[0]))
          <= 1e-12, error or f"expected {float(lw[0]):.10g}, received {value:.10g}")
    # K equal weights: that weight
    same = torch.full((K, 1), -3.25, dtype=F64)
    value, error = one(fn, (same,), {}, reduction)
    prop(report, f"K = {K} equal log weights -3.25 give -3.25", not error and
          abs(value + 3.25) <= 1e-12, error or f"expected -3.25, received {value:.10g}")
    # a constant added to every log weight shifts the result by it (also at -1000)
    base, err1 = one(fn, (lw,), {}, reduction)
    if err1:
        prop(report, "the value on K unequal weights", False, err1)
        return
    shifted, err2 = one(fn, (lw - 1000.0,), {}, reduction)
    ok = not err2 and abs(shifted - (base - 1000.0)) <= 1e-9 * 1000
    prop(report, "log w - 1000 shifts the result by -1000 (weights that underflow)", ok,
          err2 or f"expected {base - 1000.0:.10g}, received {shifted:.10g}")
    # the order of the samples does not matter
    perm, error = one(fn, (lw.flip(0),), {}, reduction)
    prop(report, "the order of the K samples does not matter", not error and
          abs(perm - base) <= 1e-12 * max(1.0, abs(base)),
          error or f"expected {base:.10g} (samples reversed), received {perm:.10g}")
    mean = float(lw.mean())
    if iwae:
        # Jensen: log mean w >= mean log w, strictly for unequal weights
        prop(report, "above the mean of the log weights (Jensen), strictly for unequal ones",
              base > mean + 1e-6, f"expected more than mean log w = {mean:.10g}, "
              f"received {base:.10g}")
    else:
        prop(report, "the mean of the log weights", abs(base - mean) <= 1e-12,
              f"expected mean log w = {mean:.10g}, received {base:.10g}")
    # in expectation: rising with K towards the exact log p(x), never above it
    ks = (1, 4, 16, 64)
    rows = []
    for k in ks:
        draws, exact = lg_weights(300, k, seed + 10 + k)
        values = []
        for w in draws:
            value, error = one(fn, (w,), {}, reduction)
            if error:
                prop(report, "rising with K to log p(x) (linear-Gaussian)", False, error)
                return
            values.append(value)
        v = torch.tensor(values, dtype=F64)
        rows.append((k, float(v.mean()), float(v.std()) / math.sqrt(len(values))))
    table = ", ".join(f"K={k}: {m:.4f} +- {s:.4f}" for k, m, s in rows)
    above = [(k, m, s) for k, m, s in rows if m > exact + 5 * s + 1e-9]
    prop(report, "never above the exact log p(x) in expectation (linear-Gaussian, 300 draws)",
          not above, f"expected at most log p(x) = {exact:.4f}; received means {table}")
    if iwae:
        falls = [(a, b) for a, b in zip(rows, rows[1:], strict=False)
                 if b[1] < a[1] - 5 * math.hypot(a[2], b[2])]
        gap_1, gap_64 = exact - rows[0][1], exact - rows[-1][1]
        ok = not falls and gap_64 < 0.5 * gap_1
        prop(report, "rising with K towards the exact log p(x) (linear-Gaussian, 300 draws)", ok,
              f"expected means rising with K and the gap to log p(x) = {exact:.4f} at K = 64 "
              f"under half the gap at K = 1; received {table}")


