"""The checks of the grader's kit, one per function of the homework API.

Part of :mod:`vae_tutorial.testing`; introduced on the page "Using the package in homework".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from vae_tutorial import losses
from vae_tutorial.estimators import log_likelihood as _log_likelihood
from vae_tutorial.testing.exact import quadrature_log_evidence, tiny_bernoulli_vae
from vae_tutorial.testing.inputs import (
    binary,
    elbo_cases,
    extreme_logvar,
    gaussian_cases,
    kl_cases,
    rand,
    saturated_logits,
    weight_cases,
)
from vae_tutorial.testing.properties import elbo_properties, kl_properties, weights_properties
from vae_tutorial.testing.report import (
    F64,
    REDUCTIONS,
    B,
    Case,
    CaseResult,
    D,
    K,
    L,
    Report,
    accepts,
    call,
    finish,
    fn_name,
    one,
    prop,
    run,
    run_gradient,
    show,
)

# --------------------------------------------------------------------------------------------
# The checks, one per function of the homework API
# --------------------------------------------------------------------------------------------

_COMMON_ARGS = """
    Args:
        fn: The student's function, with the signature of the package's function.
        reduction: ``None`` (default): ``fn`` takes the keyword ``reduction`` and is checked
            with ``"none"``, ``"mean"`` and ``"sum"``. ``"none"``, ``"mean"`` or ``"sum"``:
            ``fn`` is called without it and must perform that reduction.
        dtypes: The dtypes to check, among those of ``testing.TOLERANCES``.
        reference: Compare with the package's function on generated inputs (default).
        properties: Check the properties that need no reference (default).
        seed: Seed of the generated inputs.
        raise_on_failure: Raise :class:`SubmissionError` if a case fails (default); else only
            return the report.

    Returns:
        The :class:`Report`.

    Raises:
        SubmissionError: If a case fails and ``raise_on_failure`` is true.
"""

_DTYPES = (torch.float64, torch.float32)


def _check(
    fn: Callable[..., Any],
    name: str,
    reference: Callable[..., torch.Tensor],
    cases: Callable[[torch.Generator], list[Case]],
    grad_names: Sequence[str],
    properties: Callable[[Report], None] | None,
    *,
    reduction: str | None,
    dtypes: Sequence[torch.dtype],
    use_reference: bool,
    seed: int,
    raise_on_failure: bool,
) -> Report:
    if reduction is not None and reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be None, 'none', 'mean' or 'sum'; got {reduction!r}")
    if not callable(fn):
        raise TypeError(f"fn must be a function; got {type(fn).__name__}")
    report = Report(fn_name(fn))
    if use_reference:
        generated = cases(torch.Generator().manual_seed(seed))
        run(fn, reference, generated, reduction=reduction, dtypes=dtypes, report=report)
        run_gradient(fn, reference, generated[0], grad_names, reduction=reduction,
                      report=report)
    if properties is not None:
        properties(report)
    return finish(report, raise_on_failure)


def check_log_normal_diag(fn: Callable[..., Any], *, reduction: str | None = None,
                          dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                          properties: bool = True, seed: int = 0,
                          raise_on_failure: bool = True) -> Report:
    r"""Check a student's :func:`~vae_tutorial.losses.log_normal_diag` ``(x, mu, logvar)``.

    Cases: batch shapes, K samples of ``x`` against ``(B, L)`` parameters, log-variances
    :math:`\pm 30`. Property: the density of a 1-D Gaussian integrates to 1 (quadrature).
    """

    def props(report: Report) -> None:
        grid = torch.linspace(-12, 12, 4801, dtype=F64)
        mu, lv = torch.tensor([[0.7]], dtype=F64), torch.tensor([[0.4]], dtype=F64)
        total = 0.0
        for x in grid[::40]:
            value, error = one(fn, (x.reshape(1, 1), mu, lv), {}, reduction)
            if error:
                prop(report, "the density integrates to 1", False, error)
                return
            total += math.exp(value) * float(grid[40] - grid[0])
        prop(report, "the density integrates to 1 (1-D, midpoint rule)", abs(total - 1) < 1e-3,
              f"expected 1, received {total:.6g}")

    return _check(fn, "log_normal_diag", losses.log_normal_diag, gaussian_cases,
                  ("x", "mu", "logvar"), props if properties else None, reduction=reduction,
                  dtypes=dtypes, use_reference=reference, seed=seed,
                  raise_on_failure=raise_on_failure)


def check_log_standard_normal(fn: Callable[..., Any], *, reduction: str | None = None,
                              dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                              properties: bool = True, seed: int = 0,
                              raise_on_failure: bool = True) -> Report:
    """Check a student's :func:`~vae_tutorial.losses.log_standard_normal` ``(z)``."""

    def cases(g: torch.Generator) -> list[Case]:
        return [Case(f"typical (B={B}, L={L})", (rand(g, B, L),)),
                Case("one example", (rand(g, 1, L),)),
                Case(f"K samples (K={K}, B={B}, L={L})", (rand(g, K, B, L),)),
                Case("far from the mean (|z| ~ 1000)", (rand(g, B, L, scale=1000.0),))]

    return _check(fn, "log_standard_normal", losses.log_standard_normal, cases, ("z",), None,
                  reduction=reduction, dtypes=dtypes, use_reference=reference, seed=seed,
                  raise_on_failure=raise_on_failure)


def check_log_bernoulli(fn: Callable[..., Any], *, reduction: str | None = None,
                        dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                        properties: bool = True, grey_targets: bool = False, seed: int = 0,
                        raise_on_failure: bool = True) -> Report:
    """Check a student's :func:`~vae_tutorial.losses.log_bernoulli` ``(x, logits)``.

    Cases: binary targets (grey targets in [0, 1] too with ``grey_targets=True``: the package
    accepts them, ``torch.distributions.Bernoulli`` refuses them), saturated logits, K-sample
    logits against ``(B, D)`` targets, batch shapes. Property: the probabilities of 0 and 1 sum
    to 1.
    """

    def cases(g: torch.Generator) -> list[Case]:
        x = binary(g, B, D)
        out = [Case(f"typical (B={B}, D={D})", (x, rand(g, B, D, scale=2.0))),
               Case("one example", (binary(g, 1, D), rand(g, 1, D))),
               Case("two batch dims", (binary(g, 2, B, D), rand(g, 2, B, D))),
               Case("saturated logits (|logit| = 40)", (x, saturated_logits(g, x))),
               Case(f"K samples: logits (K={K}, B={B}, D={D}) against x (B, D)",
                     (x, rand(g, K, B, D)))]
        if grey_targets:
            out.append(Case("grey targets in [0, 1]",
                             (torch.rand(B, D, generator=g, dtype=F64), rand(g, B, D))))
        return out

    def props(report: Report) -> None:
        logits = torch.tensor([[-3.0, 0.0, 2.5]], dtype=F64)
        totals = []
        for j in range(3):
            total = 0.0
            for bit in (0.0, 1.0):
                x = torch.tensor([[bit]], dtype=F64)
                value, error = one(fn, (x, logits[:, j : j + 1]), {}, reduction)
                if error:
                    prop(report, "p(x = 0) + p(x = 1) = 1", False, error)
                    return
                total += math.exp(value)
            totals.append(total)
        prop(report, "p(x = 0) + p(x = 1) = 1 for logits -3, 0, 2.5",
              all(abs(t - 1) < 1e-9 for t in totals), f"expected 1, received {totals}")

    return _check(fn, "log_bernoulli", losses.log_bernoulli, cases, ("x", "logits"),
                  props if properties else None, reduction=reduction, dtypes=dtypes,
                  use_reference=reference, seed=seed, raise_on_failure=raise_on_failure)


def check_kl_normal_std_normal(fn: Callable[..., Any], *, reduction: str | None = None,
                               dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                               properties: bool = True, seed: int = 0,
                               raise_on_failure: bool = True) -> Report:
    r"""Check a student's :func:`~vae_tutorial.losses.kl_normal_std_normal` ``(mu, logvar)``.

    Cases: batch shapes, log-variances :math:`\pm 30`, far means, :math:`q = p`. Properties:
    KL :math:`\ge 0`, zero at :math:`q = \mathcal{N}(0, I)`.
    """
    return _check(fn, "kl_normal_std_normal", losses.kl_normal_std_normal, kl_cases,
                  ("mu", "logvar"),
                  (lambda r: kl_properties(fn, reduction, r, False, seed)) if properties
                  else None, reduction=reduction, dtypes=dtypes, use_reference=reference,
                  seed=seed, raise_on_failure=raise_on_failure)


def check_kl_normal_normal(fn: Callable[..., Any], *, reduction: str | None = None,
                           dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                           properties: bool = True, seed: int = 0,
                           raise_on_failure: bool = True) -> Report:
    r"""Check a student's :func:`~vae_tutorial.losses.kl_normal_normal`
    ``(mu_q, logvar_q, mu_p, logvar_p)``.

    Cases: batch shapes, a prior ``(L,)`` shared by the batch, log-variances :math:`\pm 30`,
    :math:`q = p`. Properties: KL :math:`\ge 0`, zero at :math:`q = p`.
    """

    def cases(g: torch.Generator) -> list[Case]:
        mu, lv = rand(g, B, L), rand(g, B, L)
        return [Case(f"typical (B={B}, L={L})", (mu, lv, rand(g, B, L), rand(g, B, L))),
                Case("one example", (rand(g, 1, L), rand(g, 1, L), rand(g, 1, L),
                                      rand(g, 1, L))),
                Case("a prior (L,) shared by the batch", (mu, lv, rand(g, L), rand(g, L))),
                Case("extreme log-variances (logvar = +-30, +-10)",
                      (rand(g, B, 4), extreme_logvar(B, 4), rand(g, B, 4),
                       extreme_logvar(B, 4).flip(-1))),
                Case("q = p (KL = 0)", (mu, lv, mu.clone(), lv.clone()))]

    return _check(fn, "kl_normal_normal", losses.kl_normal_normal, cases,
                  ("mu_q", "logvar_q", "mu_p", "logvar_p"),
                  (lambda r: kl_properties(fn, reduction, r, True, seed)) if properties
                  else None, reduction=reduction, dtypes=dtypes, use_reference=reference,
                  seed=seed, raise_on_failure=raise_on_failure)


def check_elbo(fn: Callable[..., Any], *, reduction: str | None = None,
               dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
               properties: bool = True, samples: bool = True, grey_targets: bool = False,
               seed: int = 0, raise_on_failure: bool = True) -> Report:
    r"""Check a student's :func:`~vae_tutorial.losses.elbo` ``(x, logits, mu, logvar)``.

    Cases: one sample and ``K = 5`` samples of logits (``samples=False`` leaves those out, for
    a homework with one sample), batch shapes, saturated logits, grey targets with
    ``grey_targets=True`` (as :func:`check_log_bernoulli`), log-variances
    :math:`\pm 30`, ``beta`` 0.5 and 2 where ``fn`` takes ``beta``. Property: below the exact
    :math:`\log p(x)` of :func:`tiny_bernoulli_vae` for every :math:`q` tried.
    """
    beta = accepts(fn, "beta")
    return _check(fn, "elbo", losses.elbo,
                  lambda g: elbo_cases(g, samples=samples, beta=beta, grey=grey_targets),
                  ("x", "logits", "mu", "logvar"),
                  (lambda r: elbo_properties(fn, reduction, r, seed)) if properties else None,
                  reduction=reduction, dtypes=dtypes, use_reference=reference, seed=seed,
                  raise_on_failure=raise_on_failure)


def check_negative_elbo(fn: Callable[..., Any], *, reduction: str | None = None,
                        dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                        properties: bool = True, samples: bool = True,
                        grey_targets: bool = False, seed: int = 0,
                        raise_on_failure: bool = True) -> Report:
    """Check a student's :func:`~vae_tutorial.losses.negative_elbo`, the loss to minimize:
    the cases and property of :func:`check_elbo`, with the sign turned."""
    beta = accepts(fn, "beta")
    return _check(fn, "negative_elbo", losses.negative_elbo,
                  lambda g: elbo_cases(g, samples=samples, beta=beta, grey=grey_targets),
                  ("x", "logits", "mu", "logvar"),
                  (lambda r: elbo_properties(fn, reduction, r, seed, negative=True))
                  if properties else None, reduction=reduction, dtypes=dtypes,
                  use_reference=reference, seed=seed, raise_on_failure=raise_on_failure)


def check_elbo_mc(fn: Callable[..., Any], *, reduction: str | None = None,
                  dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                  properties: bool = True, seed: int = 0,
                  raise_on_failure: bool = True) -> Report:
    """Check a student's :func:`~vae_tutorial.losses.elbo_mc` ``(log_weights)``, samples along
    dim 0.

    Cases: ``(K, B)`` and ``(K, 2, B)`` weights, ``K = 1``, underflowing, overflowing and spread
    weights. Properties: the weight itself at ``K = 1`` and for equal weights, the mean of the
    log weights, a shift by a constant, the order of samples, never above the exact
    :math:`\\log p(x)` of a linear-Gaussian model in expectation.
    """
    return _check(fn, "elbo_mc", losses.elbo_mc, lambda g: weight_cases(g, zero_weight=False),
                  ("log_weights",),
                  (lambda r: weights_properties(fn, reduction, r, seed, iwae=False))
                  if properties else None, reduction=reduction, dtypes=dtypes,
                  use_reference=reference, seed=seed, raise_on_failure=raise_on_failure)


def check_iwae_bound(fn: Callable[..., Any], *, reduction: str | None = None,
                     dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                     properties: bool = True, seed: int = 0,
                     raise_on_failure: bool = True) -> Report:
    r"""Check a student's :func:`~vae_tutorial.losses.iwae_bound` ``(log_weights)``, samples
    along dim 0.

    Cases: as :func:`check_elbo_mc`, and zero weights (``-inf``) among others. Properties: the
    weight itself at ``K = 1`` and for equal weights, above the mean of unequal log weights
    (Jensen), a shift by a constant (at :math:`-1000`, where weights underflow), the order of
    samples, and in expectation rising with ``K`` towards the exact :math:`\log p(x)` of a
    linear-Gaussian model without passing it.
    """
    return _check(fn, "iwae_bound", losses.iwae_bound,
                  lambda g: weight_cases(g, zero_weight=True), ("log_weights",),
                  (lambda r: weights_properties(fn, reduction, r, seed, iwae=True))
                  if properties else None, reduction=reduction, dtypes=dtypes,
                  use_reference=reference, seed=seed, raise_on_failure=raise_on_failure)


for _f in (check_log_normal_diag, check_log_standard_normal, check_log_bernoulli,
           check_kl_normal_std_normal, check_kl_normal_normal, check_elbo, check_negative_elbo,
           check_elbo_mc, check_iwae_bound):
    _f.__doc__ = (_f.__doc__ or "").rstrip() + "\n" + _COMMON_ARGS + (
        "\n    Introduced on the page \"Using the package in homework\".\n")


def check_log_likelihood(
    fn: Callable[..., Any],
    *,
    k: int = 1000,
    seed: int = 0,
    raise_on_failure: bool = True,
) -> Report:
    r"""Check a student's :math:`\log p(x)` estimator with the signature of
    :func:`~vae_tutorial.estimators.log_likelihood`, ``fn(model, x, k)``, against the exact
    :math:`\log p(x)` of :func:`tiny_bernoulli_vae` (by :func:`quadrature_log_evidence`).

    Cases, on 6 images: the shape ``(B,)`` (one value per image, not a mean); the sign (a
    log-likelihood, never its negative); the estimate within the Monte Carlo spread of the
    package's own estimator at the same ``k`` (the mean of 5 seeds, :math:`\pm` 6 standard
    deviations and 0.02 nats) around the exact value; for 1 and 2 latent dims.

    Args:
        fn: The student's estimator, called as ``fn(model, x, k)`` after
            ``torch.manual_seed(seed)``.
        k: Importance samples per image.
        seed: Seed of the global random state before each call.
        raise_on_failure: Raise :class:`SubmissionError` if a case fails (default).

    Returns:
        The :class:`Report`.

    Raises:
        SubmissionError: If a case fails and ``raise_on_failure`` is true.

    Examples:
        >>> from vae_tutorial import estimators, testing
        >>> testing.check_log_likelihood(estimators.log_likelihood, k=200).passed
        True

    Introduced in the chapter "Using the package in homework".
    """
    report = Report(fn_name(fn))
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(6, 8, generator=g, dtype=F64).round()
    for latent_dim in (1, 2):
        model = tiny_bernoulli_vae(latent_dim=latent_dim, seed=seed)
        exact = quadrature_log_evidence(model, x)
        runs = torch.stack([_log_likelihood(model, x, k, chunk_size=500, seed=s)
                            for s in range(5)])  # (5, B)
        centre, spread = runs.mean(0), runs.std(0)
        low, high = centre - 6 * spread - 0.02, exact + 6 * spread + 0.02
        name = f"tiny Bernoulli VAE (D=8, L={latent_dim}), 6 images, k={k}"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out, error = call(fn, (model, x, k), {})
        if error:
            report.results.append(CaseResult(name, False, error))
            continue
        if not isinstance(out, torch.Tensor) or out.shape != exact.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            report.results.append(CaseResult(name, False,
                                             f"expected one log p(x) per image, shape "
                                             f"{tuple(exact.shape)}, received {got}"))
            continue
        got = out.detach().to(F64)
        if bool((got > 0).all()) and bool(((-got >= low) & (-got <= high)).all()):
            report.results.append(CaseResult(name, False,
                                             f"received {show(got)}: the negative of log p(x) "
                                             f"(expected {show(exact)}); return log p(x), not "
                                             "the negative log-likelihood"))
            continue
        bad = ~((got >= low) & (got <= high))
        if bool(bad.any()):
            i = int(bad.nonzero()[0])
            report.results.append(CaseResult(
                name, False, f"expected log p(x) = {show(exact)} (exact, by quadrature), "
                f"received {show(got)}; image {i}: received {float(got[i]):.6g}, accepted "
                f"[{float(low[i]):.6g}, {float(high[i]):.6g}]"))
            continue
        report.results.append(CaseResult(name, True))
    return finish(report, raise_on_failure)
