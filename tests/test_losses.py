"""Tests of :mod:`vae_tutorial.losses`, the homework API.

Every function is checked against an independent reference (``torch.distributions``, a closed
form, or NumPy in float64), over batch shapes ``()``, ``(4,)``, ``(2, 3)`` and every reduction.
Randomized tests use fixed seeds; the Monte Carlo KL test compares within 4 standard errors,
a false-failure rate of about 6e-5 per compared value for a fresh seed (0 at the fixed one).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from vae_tutorial import losses

F64 = torch.float64
L = 5  # event dim of Gaussians (latent dim)
D = 7  # event dim of Bernoullis (data dim)
K = 3  # samples
BATCH_SHAPES = [(), (4,), (2, 3)]
REDUCTIONS = ["none", "mean", "sum"]


def randn(gen: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(shape, generator=gen, dtype=F64)


def binary(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.bernoulli(torch.full(shape, 0.5, dtype=F64), generator=gen)


def diag_normal(mu: torch.Tensor, logvar: torch.Tensor) -> Independent:
    """q = N(mu, diag exp(logvar)) as a torch.distributions object with one event dim."""
    return Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)


def np_log_mean_exp(a: np.ndarray, axis: int = 0) -> np.ndarray:
    """log (1/K) sum_k exp(a_k), computed in float64 NumPy with the max shifted out."""
    a = np.asarray(a, dtype=np.float64)
    m = a.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(a - m).mean(axis=axis, keepdims=True))).squeeze(axis)


# --------------------------------------------------------------------------------------------
# One table of cases: inputs for a batch shape, the function under test, an independent reference
# (batch shape, float64, CPU) computed without the package.
# --------------------------------------------------------------------------------------------


def _case_log_normal_diag(g, b):
    inputs = dict(x=randn(g, *b, L), mu=randn(g, *b, L), logvar=randn(g, *b, L, scale=0.5))
    ref = Normal(inputs["mu"], torch.exp(0.5 * inputs["logvar"])).log_prob(inputs["x"]).sum(-1)
    return inputs, losses.log_normal_diag, ref


def _case_log_standard_normal(g, b):
    inputs = dict(z=randn(g, *b, L, scale=2.0))
    ref = Normal(0.0, 1.0).log_prob(inputs["z"]).sum(-1)
    return inputs, losses.log_standard_normal, ref


def _case_log_bernoulli(g, b):
    inputs = dict(x=binary(g, *b, D), logits=randn(g, *b, D, scale=3.0))
    ref = Bernoulli(logits=inputs["logits"]).log_prob(inputs["x"]).sum(-1)
    return inputs, losses.log_bernoulli, ref


def _case_log_bernoulli_grey(g, b):
    # grey targets: the cross-entropy x log(pi) + (1 - x) log(1 - pi), in NumPy
    x = torch.rand((*b, D), generator=g, dtype=F64)
    logits = randn(g, *b, D, scale=3.0)
    pi = 1.0 / (1.0 + np.exp(-logits.numpy()))
    ref = (x.numpy() * np.log(pi) + (1.0 - x.numpy()) * np.log1p(-pi)).sum(-1)
    return dict(x=x, logits=logits), losses.log_bernoulli, torch.as_tensor(ref)


def _case_kl_normal_std_normal(g, b):
    inputs = dict(mu=randn(g, *b, L), logvar=randn(g, *b, L))
    zeros = torch.zeros((*b, L), dtype=F64)
    ref = kl_divergence(diag_normal(inputs["mu"], inputs["logvar"]), diag_normal(zeros, zeros))
    return inputs, losses.kl_normal_std_normal, ref


def _case_kl_normal_normal(g, b):
    inputs = dict(
        mu_q=randn(g, *b, L),
        logvar_q=randn(g, *b, L),
        mu_p=randn(g, *b, L),
        logvar_p=randn(g, *b, L),
    )
    ref = kl_divergence(
        diag_normal(inputs["mu_q"], inputs["logvar_q"]),
        diag_normal(inputs["mu_p"], inputs["logvar_p"]),
    )
    return inputs, losses.kl_normal_normal, ref


def _case_kl_normal_normal_shared_prior(g, b):
    # one prior (L,) for every example: broadcast against q's batch
    inputs = dict(
        mu_q=randn(g, *b, L), logvar_q=randn(g, *b, L), mu_p=randn(g, L), logvar_p=randn(g, L)
    )
    mu_p, logvar_p = (t.expand(*b, L) for t in (inputs["mu_p"], inputs["logvar_p"]))
    ref = kl_divergence(
        diag_normal(inputs["mu_q"], inputs["logvar_q"]), diag_normal(mu_p, logvar_p)
    )
    return inputs, losses.kl_normal_normal, ref


def _elbo_inputs(g, b, k: int | None):
    x = binary(g, *b, D)
    logits = randn(g, *b, D, scale=2.0) if k is None else randn(g, k, *b, D, scale=2.0)
    mu, logvar = randn(g, *b, L), randn(g, *b, L, scale=0.5)
    rec = Bernoulli(logits=logits).log_prob(x.expand_as(logits)).sum(-1)  # (*b) or (K, *b)
    if k is not None:
        rec = rec.mean(0)
    zeros = torch.zeros_like(mu)
    kl = kl_divergence(diag_normal(mu, logvar), diag_normal(zeros, zeros))
    return dict(x=x, logits=logits, mu=mu, logvar=logvar), rec, kl


def _case_elbo(g, b):
    inputs, rec, kl = _elbo_inputs(g, b, None)
    return inputs, losses.elbo, rec - kl


def _case_elbo_k_samples(g, b):
    inputs, rec, kl = _elbo_inputs(g, b, K)
    return inputs, losses.elbo, rec - kl


def _case_negative_elbo(g, b):
    inputs, rec, kl = _elbo_inputs(g, b, K)
    return inputs, losses.negative_elbo, kl - rec


def _case_elbo_mc(g, b):
    lw = randn(g, K, *b, scale=3.0) - 50.0
    return dict(log_weights=lw), losses.elbo_mc, torch.as_tensor(lw.numpy().mean(0))


def _case_iwae_bound(g, b):
    lw = randn(g, K, *b, scale=3.0) - 50.0
    return dict(log_weights=lw), losses.iwae_bound, torch.as_tensor(np_log_mean_exp(lw.numpy()))


CASES: dict[str, Callable] = {
    "log_normal_diag": _case_log_normal_diag,
    "log_standard_normal": _case_log_standard_normal,
    "log_bernoulli": _case_log_bernoulli,
    "log_bernoulli_grey": _case_log_bernoulli_grey,
    "kl_normal_std_normal": _case_kl_normal_std_normal,
    "kl_normal_normal": _case_kl_normal_normal,
    "kl_normal_normal_shared_prior": _case_kl_normal_normal_shared_prior,
    "elbo": _case_elbo,
    "elbo_k_samples": _case_elbo_k_samples,
    "negative_elbo": _case_negative_elbo,
    "elbo_mc": _case_elbo_mc,
    "iwae_bound": _case_iwae_bound,
}
DEFAULT_REDUCTION = {
    losses.log_normal_diag: "none",
    losses.log_standard_normal: "none",
    losses.log_bernoulli: "none",
    losses.kl_normal_std_normal: "mean",
    losses.kl_normal_normal: "mean",
    losses.elbo: "mean",
    losses.negative_elbo: "mean",
    losses.elbo_mc: "mean",
    losses.iwae_bound: "mean",
}


def _reduce(ref: torch.Tensor, reduction: str) -> torch.Tensor:
    return {"none": ref, "mean": ref.mean(), "sum": ref.sum()}[reduction]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("batch_shape", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("case", list(CASES))
def test_matches_independent_reference(case, batch_shape, reduction, device, generator):
    inputs, fn, ref = CASES[case](generator, batch_shape)
    assert ref.shape == batch_shape  # the reference itself has the batch shape
    out = fn(**{k: v.to(device) for k, v in inputs.items()}, reduction=reduction)
    assert out.device.type == device.type
    assert out.dtype == F64
    expected = _reduce(ref, reduction)
    assert out.shape == expected.shape, (
        f"{case}: shape {tuple(out.shape)} != {tuple(expected.shape)}"
    )
    torch.testing.assert_close(out.cpu(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", list(CASES))
def test_default_reduction(case, generator):
    inputs, fn, ref = CASES[case](generator, (4,))
    torch.testing.assert_close(fn(**inputs), _reduce(ref, DEFAULT_REDUCTION[fn]))


@pytest.mark.parametrize("case", list(CASES))
def test_float32_keeps_dtype_and_matches(case, device, generator):
    inputs, fn, ref = CASES[case](generator, (2, 3))
    out = fn(**{k: v.float().to(device) for k, v in inputs.items()}, reduction="none")
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.cpu().double(), ref, rtol=1e-5, atol=1e-4)


# --------------------------------------------------------------------------------------------
# Broadcasting and the sample dim K
# --------------------------------------------------------------------------------------------


def test_log_bernoulli_broadcasts_samples_against_data(device, generator):
    x, logits = binary(generator, 4, D), randn(generator, K, 4, D, scale=2.0)
    out = losses.log_bernoulli(x.to(device), logits.to(device))
    assert out.shape == (K, 4)
    ref = torch.stack([Bernoulli(logits=logits[k]).log_prob(x).sum(-1) for k in range(K)])
    torch.testing.assert_close(out.cpu(), ref)
    # and the other way round: one set of logits against K data tensors
    xs = binary(generator, K, 4, D)
    out = losses.log_bernoulli(xs.to(device), logits[0].to(device))
    torch.testing.assert_close(out.cpu(), Bernoulli(logits=logits[0]).log_prob(xs).sum(-1))


def test_log_normal_diag_broadcasts_samples_against_parameters(device, generator):
    z, mu, logvar = randn(generator, K, 4, L), randn(generator, 4, L), randn(generator, 4, L)
    out = losses.log_normal_diag(z.to(device), mu.to(device), logvar.to(device))
    assert out.shape == (K, 4)
    torch.testing.assert_close(out.cpu(), diag_normal(mu, logvar).log_prob(z))


def test_log_bernoulli_is_stable_for_large_logits():
    logits = torch.tensor([[200.0, -200.0, 200.0, -200.0]], dtype=F64)
    x = torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=F64)
    out = losses.log_bernoulli(x, logits)
    # two confident right answers cost ~0, two confident wrong answers cost 200 nats each
    torch.testing.assert_close(out, torch.tensor([-400.0], dtype=F64))


# --- the Gaussians at the extremes: finite wherever the true value is finite in the dtype ---


@pytest.mark.parametrize(("dtype", "logvar"), [(torch.float32, -100.0), (torch.float32, 80.0),
                                               (torch.float64, -1e3), (torch.float64, 1e3)])
def test_kl_normal_normal_of_q_with_itself_is_zero_at_extreme_variances(dtype, logvar):
    # KL(q || q) = 0 at any variance; exp(logvar_q) * exp(-logvar_p) gave 0 * inf = nan / inf
    mu = torch.tensor([[0.0, 3.0]], dtype=dtype)
    lv = torch.full((1, 2), logvar, dtype=dtype)
    out = losses.kl_normal_normal(mu, lv, mu, lv, reduction="none")
    torch.testing.assert_close(out, torch.zeros(1, dtype=dtype))


def test_kl_normal_normal_finite_where_only_twice_it_overflows():
    # KL = exp(89) / 2 + ... = 2.24e38 fits float32 (max 3.40e38), exp(89) = 4.49e38 does not
    # (found by the property test below in a CI run)
    z = torch.zeros(1, 1)
    out = losses.kl_normal_normal(z, torch.full((1, 1), 53.0), z, torch.full((1, 1), -36.0),
                                  reduction="none")
    want = 0.5 * (-36.0 - 53.0 + math.exp(89.0) - 1.0)
    # float32's exp at an argument near 88 is good to a few 1e-6 (the argument's rounding)
    assert math.isfinite(out.item()) and abs(out.item() - want) <= 1e-5 * want, (out, want)


@pytest.mark.parametrize(("dtype", "logvar"), [(torch.float32, -100.0), (torch.float64, -1e3)])
def test_log_normal_diag_at_the_mean_with_a_tiny_variance(dtype, logvar):
    # at x = mu the quadratic term is 0, not 0 * inf: log N = -1/2 (log 2 pi + logvar) per dim
    mu = torch.tensor([[1.0, -2.0]], dtype=dtype)
    lv = torch.full((1, 2), logvar, dtype=dtype)
    want = torch.full((1,), -(math.log(2 * math.pi) + logvar), dtype=dtype)
    torch.testing.assert_close(losses.log_normal_diag(mu, mu, lv), want)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.floats(-30, 30), st.floats(-60, 60), st.floats(-30, 30), st.floats(-60, 60),
       st.floats(-20, 20))
def test_gaussians_in_float32_match_float64_references_over_wide_ranges(mu_q, lv_q, mu_p, lv_p,
                                                                       x):
    # float32 results against torch.distributions in float64, over variances from e^-60 to e^60;
    # tolerance: float32 rounding of each term, relative to the largest term's size
    f32 = lambda v: torch.tensor([[v]], dtype=torch.float32)  # noqa: E731
    ref_q = Normal(torch.tensor(mu_q, dtype=F64), torch.tensor(lv_q / 2, dtype=F64).exp())
    ref_p = Normal(torch.tensor(mu_p, dtype=F64), torch.tensor(lv_p / 2, dtype=F64).exp())
    want_kl = kl_divergence(ref_q, ref_p).item()
    got_kl = losses.kl_normal_normal(f32(mu_q), f32(lv_q), f32(mu_p), f32(lv_p),
                                     reduction="none").item()
    terms = abs(lv_p) + abs(lv_q) + math.exp(lv_q - lv_p) + (mu_q - mu_p) ** 2 * math.exp(-lv_p)
    # finite wherever the true value is (float32's largest is 3.4e38), and then close to it
    if want_kl > torch.finfo(torch.float32).max:
        assert got_kl == math.inf, (got_kl, want_kl)
    else:
        assert math.isfinite(got_kl) and abs(got_kl - want_kl) <= 1e-5 * (1 + terms), (got_kl,
                                                                                       want_kl)
    want_lp = ref_q.log_prob(torch.tensor(x, dtype=F64)).item()
    got_lp = losses.log_normal_diag(f32(x), f32(mu_q), f32(lv_q)).item()
    terms = 2 + abs(lv_q) + (x - mu_q) ** 2 * math.exp(-lv_q)
    assert math.isfinite(got_lp) and abs(got_lp - want_lp) <= 1e-5 * terms, (got_lp, want_lp)


def test_elbo_with_k_samples_is_mean_of_single_sample_elbos(device, generator):
    inputs, _, _ = _elbo_inputs(generator, (4,), K)
    x, logits, mu, logvar = (inputs[k].to(device) for k in ("x", "logits", "mu", "logvar"))
    out = losses.elbo(x, logits, mu, logvar, reduction="none")
    per_k = torch.stack([losses.elbo(x, logits[k], mu, logvar, reduction="none") for k in range(K)])
    torch.testing.assert_close(out, per_k.mean(0))


@pytest.mark.parametrize("beta", [0.0, 0.5, 1, 4.0])
def test_elbo_with_beta(beta, device, generator):
    inputs, rec, kl = _elbo_inputs(generator, (2, 3), K)
    out = losses.elbo(**{k: v.to(device) for k, v in inputs.items()}, beta=beta, reduction="none")
    torch.testing.assert_close(out.cpu(), rec - beta * kl)


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.5])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_negative_elbo_is_minus_elbo(beta, reduction, generator):
    inputs, _, _ = _elbo_inputs(generator, (4,), K)
    neg = losses.negative_elbo(**inputs, beta=beta, reduction=reduction)
    pos = losses.elbo(**inputs, beta=beta, reduction=reduction)
    torch.testing.assert_close(neg, -pos, rtol=0, atol=0)


def test_elbo_is_below_log_evidence_of_a_conjugate_model():
    """1-pixel, 1-latent check with an exact answer: for any q, ELBO <= log p(x) by Jensen.

    With K samples z_k from q and the *same* logits, elbo averages log p(x|z_k); here the
    decoder ignores z (logits constant), so log p(x) = log Bernoulli(x; logits) exactly and
    the ELBO is log p(x) - KL(q || p), below log p(x) by exactly the KL.
    """
    x = torch.tensor([[1.0]], dtype=F64)
    logits = torch.full((K, 1, 1), 0.3, dtype=F64)
    mu, logvar = torch.tensor([[0.7]], dtype=F64), torch.tensor([[-0.4]], dtype=F64)
    log_px = math.log(1.0 / (1.0 + math.exp(-0.3)))
    kl = 0.5 * (0.7**2 + math.exp(-0.4) - 1.0 + 0.4)
    torch.testing.assert_close(losses.elbo(x, logits, mu, logvar).item(), log_px - kl)


# --------------------------------------------------------------------------------------------
# The IWAE bound
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES, ids=str)
def test_iwae_bound_at_k1_equals_elbo_mc(batch_shape, device, generator):
    lw = randn(generator, 1, *batch_shape, scale=10.0).to(device)
    iwae = losses.iwae_bound(lw, reduction="none")
    torch.testing.assert_close(iwae, losses.elbo_mc(lw, reduction="none"))
    torch.testing.assert_close(iwae, lw[0])


@pytest.mark.parametrize("k", [2, 5, 100])
def test_iwae_bound_at_least_elbo_mc(k, device, generator):
    lw = randn(generator, k, 6, scale=5.0).to(device)
    iwae = losses.iwae_bound(lw, reduction="none")
    mc = losses.elbo_mc(lw, reduction="none")
    assert (iwae >= mc).all(), f"Jensen violated: iwae {iwae.tolist()} < elbo_mc {mc.tolist()}"
    assert (iwae <= lw.max(0).values).all()


@pytest.mark.parametrize("c", [-1000.0, -3.7, 0.0, 2.5, 1000.0])
def test_iwae_bound_shifts_with_constant(c, device, generator):
    lw = randn(generator, 10, 4, scale=3.0)
    shifted = losses.iwae_bound((lw + c).to(device), reduction="none").cpu()
    torch.testing.assert_close(shifted, losses.iwae_bound(lw, reduction="none") + c)
    torch.testing.assert_close(shifted, torch.as_tensor(np_log_mean_exp(lw.numpy()) + c))
    torch.testing.assert_close(
        losses.elbo_mc((lw + c).to(device), reduction="none").cpu(), lw.mean(0) + c
    )


def test_iwae_bound_is_stable_when_every_weight_underflows():
    lw = torch.tensor([[-2000.0], [-2001.0], [-2003.0]], dtype=F64)  # exp underflows to 0
    out = losses.iwae_bound(lw, reduction="none")
    expected = -2000.0 + math.log((1 + math.exp(-1) + math.exp(-3)) / 3)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, torch.tensor([expected], dtype=F64))


# --------------------------------------------------------------------------------------------
# Monte Carlo KL against the closed forms
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prior", ["standard_normal", "diagonal_normal"])
def test_kl_matches_monte_carlo_within_4_standard_errors(prior, generator):
    n = 20_000
    mu_q, logvar_q = randn(generator, 4, L), randn(generator, 4, L, scale=0.5)
    if prior == "standard_normal":
        mu_p, logvar_p = torch.zeros(4, L, dtype=F64), torch.zeros(4, L, dtype=F64)
        exact = losses.kl_normal_std_normal(mu_q, logvar_q, reduction="none")
    else:
        mu_p, logvar_p = randn(generator, 4, L), randn(generator, 4, L, scale=0.5)
        exact = losses.kl_normal_normal(mu_q, logvar_q, mu_p, logvar_p, reduction="none")
    q, p = diag_normal(mu_q, logvar_q), diag_normal(mu_p, logvar_p)
    z = mu_q + torch.exp(0.5 * logvar_q) * torch.randn((n, 4, L), generator=generator, dtype=F64)
    log_ratio = q.log_prob(z) - p.log_prob(z)  # (n, 4): log q(z) - log p(z), z ~ q
    estimate = log_ratio.mean(0)
    std_err = log_ratio.std(0) / math.sqrt(n)
    ok = (estimate - exact).abs() <= 4.0 * std_err
    assert ok.all(), (
        f"Monte Carlo KL (n={n}) estimate {estimate.tolist()} with standard error "
        f"{std_err.tolist()} differs from the analytic KL {exact.tolist()} by more than 4 s.e."
    )


# --------------------------------------------------------------------------------------------
# Gradients: gradcheck in float64 and closed-form gradients
# --------------------------------------------------------------------------------------------


def _req(t: torch.Tensor) -> torch.Tensor:
    return t.detach().clone().requires_grad_(True)


def test_gradcheck_kl_normal_std_normal(generator):
    args = (_req(randn(generator, 2, 3, L)), _req(randn(generator, 2, 3, L, scale=0.5)))
    assert torch.autograd.gradcheck(
        lambda m, lv: losses.kl_normal_std_normal(m, lv, reduction="none"), args
    )


def test_gradcheck_kl_normal_normal(generator):
    args = tuple(_req(randn(generator, 2, 3, L, scale=0.7)) for _ in range(4))
    assert torch.autograd.gradcheck(lambda *a: losses.kl_normal_normal(*a, reduction="none"), args)


def test_gradcheck_log_normal_diag(generator):
    args = tuple(_req(randn(generator, 4, L, scale=0.7)) for _ in range(3))
    assert torch.autograd.gradcheck(lambda x, m, lv: losses.log_normal_diag(x, m, lv), args)


def test_gradcheck_log_bernoulli(generator):
    x = _req(0.1 + 0.8 * torch.rand((K, 4, D), generator=generator, dtype=F64))
    logits = _req(randn(generator, K, 4, D, scale=2.0))
    assert torch.autograd.gradcheck(lambda a, b: losses.log_bernoulli(a, b), (x, logits))


def test_gradcheck_elbo(generator):
    inputs, _, _ = _elbo_inputs(generator, (4,), K)
    x = inputs["x"]
    args = tuple(_req(inputs[k]) for k in ("logits", "mu", "logvar"))
    assert torch.autograd.gradcheck(
        lambda lg, m, lv: losses.elbo(x, lg, m, lv, beta=1.5, reduction="none"), args
    )


def test_gradcheck_iwae_bound(generator):
    lw = _req(randn(generator, K, 2, 3, scale=2.0))
    assert torch.autograd.gradcheck(lambda a: losses.iwae_bound(a, reduction="none"), (lw,))


def test_kl_normal_std_normal_gradient_closed_form(generator):
    mu, logvar = _req(randn(generator, 4, L)), _req(randn(generator, 4, L))
    losses.kl_normal_std_normal(mu, logvar, reduction="sum").backward()
    # d KL / d mu = mu,  d KL / d logvar = (exp(logvar) - 1) / 2
    torch.testing.assert_close(mu.grad, mu.detach())
    torch.testing.assert_close(logvar.grad, 0.5 * (torch.exp(logvar.detach()) - 1.0))


def test_iwae_bound_gradient_is_normalized_weights(generator):
    lw = _req(randn(generator, 6, 4, scale=2.0))
    losses.iwae_bound(lw, reduction="sum").backward()
    w = np.exp(lw.detach().numpy() - lw.detach().numpy().max(0))
    torch.testing.assert_close(lw.grad, torch.as_tensor(w / w.sum(0)))


# --------------------------------------------------------------------------------------------
# Properties (hypothesis)
# --------------------------------------------------------------------------------------------

_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
_finite = st.floats(-8.0, 8.0, allow_nan=False, allow_infinity=False)


@st.composite
def _gaussian_pairs(draw):
    shape = draw(_shapes)
    arrays = [draw(hnp.arrays(np.float64, shape, elements=_finite)) for _ in range(4)]
    return [torch.as_tensor(a) for a in arrays]


@settings(max_examples=60, deadline=None)
@given(_gaussian_pairs())
def test_kl_is_nonnegative(params):
    mu_q, logvar_q, mu_p, logvar_p = params
    kl_std = losses.kl_normal_std_normal(mu_q, logvar_q, reduction="none")
    kl = losses.kl_normal_normal(mu_q, logvar_q, mu_p, logvar_p, reduction="none")
    assert (kl_std >= -1e-9).all(), kl_std
    assert (kl >= -1e-9).all(), kl


@settings(max_examples=60, deadline=None)
@given(_gaussian_pairs())
def test_kl_is_zero_iff_q_equals_p(params):
    mu, logvar, _, _ = params
    kl = losses.kl_normal_normal(mu, logvar, mu.clone(), logvar.clone(), reduction="none")
    torch.testing.assert_close(kl, torch.zeros_like(kl), rtol=0, atol=1e-12)
    # the standard normal prior is the special case mu_p = 0, logvar_p = 0
    zeros = torch.zeros_like(mu)
    torch.testing.assert_close(
        losses.kl_normal_std_normal(mu, logvar, reduction="none"),
        losses.kl_normal_normal(mu, logvar, zeros, zeros, reduction="none"),
        rtol=1e-10,
        atol=1e-10,
    )
    kl0 = losses.kl_normal_std_normal(zeros, zeros, reduction="none")
    torch.testing.assert_close(kl0, torch.zeros_like(kl0), rtol=0, atol=0)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
        elements=st.floats(-500.0, 500.0, allow_nan=False, allow_infinity=False),
    )
)
def test_iwae_bound_is_log_mean_exp_between_mean_and_max(lw):
    from scipy.special import logsumexp

    t = torch.as_tensor(lw)
    iwae = losses.iwae_bound(t, reduction="none").numpy()
    expected = logsumexp(lw, axis=0) - math.log(lw.shape[0])
    np.testing.assert_allclose(iwae, expected, rtol=1e-12, atol=1e-9)
    assert (iwae >= lw.mean(0) - 1e-9).all()  # Jensen: log mean exp >= mean log
    assert (iwae <= lw.max(0) + 1e-9).all()


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def _t(*shape: int, fill: float = 0.5, dtype: torch.dtype = F64) -> torch.Tensor:
    return torch.full(shape, fill, dtype=dtype)


def _with(value: float, *shape: int) -> torch.Tensor:
    t = _t(*shape)
    t.view(-1)[1] = value
    return t


ERRORS = [
    # non-tensors and non-float tensors -> TypeError naming the argument
    (
        "x_list",
        lambda: losses.log_normal_diag([0.0] * L, _t(L), _t(L)),
        TypeError,
        r"x must be a torch\.Tensor; got list",
    ),
    (
        "mu_numpy",
        lambda: losses.kl_normal_std_normal(np.zeros((4, L)), _t(4, L)),
        TypeError,
        r"mu must be a torch\.Tensor; got ndarray",
    ),
    ("lw_float", lambda: losses.iwae_bound(1.0), TypeError, r"log_weights must be a torch\.Tensor"),
    (
        "z_int",
        lambda: losses.log_standard_normal(torch.ones(4, L, dtype=torch.int64)),
        TypeError,
        r"z must be a floating-point tensor; got dtype torch\.int64",
    ),
    (
        "x_int_bernoulli",
        lambda: losses.log_bernoulli(torch.ones(4, D, dtype=torch.int64), _t(4, D)),
        TypeError,
        r"x must be a floating-point tensor",
    ),
    (
        "logits_int_elbo",
        lambda: losses.elbo(_t(4, D), torch.zeros(4, D, dtype=torch.int32), _t(4, L), _t(4, L)),
        TypeError,
        r"logits must be a floating-point tensor",
    ),
    (
        "lw_int",
        lambda: losses.elbo_mc(torch.zeros(K, 4, dtype=torch.int64)),
        TypeError,
        r"log_weights must be a floating-point tensor",
    ),
    # shapes -> ValueError naming the argument, the expectation and what came
    (
        "logvar_shape",
        lambda: losses.kl_normal_std_normal(_t(4, L), _t(4, L + 1)),
        ValueError,
        r"logvar must have the shape of mu \(4, 5\); got \(4, 6\)",
    ),
    (
        "logvar_shape_diag",
        lambda: losses.log_normal_diag(_t(4, L), _t(4, L), _t(3, L)),
        ValueError,
        r"logvar must have the shape of mu \(4, 5\); got \(3, 5\)",
    ),
    (
        "x_event_dim",
        lambda: losses.log_normal_diag(_t(4, L + 1), _t(4, L), _t(4, L)),
        ValueError,
        r"x must broadcast with mu \(4, 5\).*got \(4, 6\)",
    ),
    (
        "logits_event_dim",
        lambda: losses.log_bernoulli(_t(4, D), _t(4, D + 1)),
        ValueError,
        r"logits must broadcast with x \(4, 7\).*got \(4, 8\)",
    ),
    (
        "logits_batch",
        lambda: losses.log_bernoulli(_t(4, D), _t(3, D)),
        ValueError,
        r"logits must broadcast with x",
    ),
    (
        "mu_p_batch",
        lambda: losses.kl_normal_normal(_t(4, L), _t(4, L), _t(3, L), _t(3, L)),
        ValueError,
        r"mu_p must broadcast with mu_q \(4, 5\)",
    ),
    (
        "logvar_q_shape",
        lambda: losses.kl_normal_normal(_t(4, L), _t(4, 2), _t(4, L), _t(4, L)),
        ValueError,
        r"logvar_q must have the shape of mu_q",
    ),
    (
        "logvar_p_shape",
        lambda: losses.kl_normal_normal(_t(4, L), _t(4, L), _t(4, L), _t(L)),
        ValueError,
        r"logvar_p must have the shape of mu_p \(4, 5\); got \(5,\)",
    ),
    (
        "elbo_logits",
        lambda: losses.elbo(_t(4, D), _t(4, D + 1), _t(4, L), _t(4, L)),
        ValueError,
        r"logits must have the shape of x \(4, 7\) or \(K, \*x\.shape\); got \(4, 8\)",
    ),
    (
        "elbo_logits_k",
        lambda: losses.elbo(_t(4, D), _t(K, 3, D), _t(4, L), _t(4, L)),
        ValueError,
        r"logits must have the shape of x",
    ),
    (
        "elbo_mu_batch",
        lambda: losses.elbo(_t(4, D), _t(4, D), _t(3, L), _t(3, L)),
        ValueError,
        r"mu must have the batch shape of x \(4,\)",
    ),
    (
        "elbo_logvar",
        lambda: losses.elbo(_t(4, D), _t(4, D), _t(4, L), _t(4, L - 1)),
        ValueError,
        r"logvar must have the shape of mu",
    ),
    (
        "zero_dim_z",
        lambda: losses.log_standard_normal(torch.tensor(0.5)),
        ValueError,
        r"z must have at least 1 dimension",
    ),
    (
        "zero_dim_lw",
        lambda: losses.iwae_bound(torch.tensor(0.5)),
        ValueError,
        r"log_weights must have at least 1 dimension",
    ),
    # non-finite values
    (
        "nan_mu",
        lambda: losses.kl_normal_std_normal(_with(math.nan, 4, L), _t(4, L)),
        ValueError,
        r"mu must be finite; got 1 non-finite value",
    ),
    (
        "inf_logvar",
        lambda: losses.kl_normal_std_normal(_t(4, L), _with(math.inf, 4, L)),
        ValueError,
        r"logvar must be finite",
    ),
    (
        "nan_x_diag",
        lambda: losses.log_normal_diag(_with(math.nan, 4, L), _t(4, L), _t(4, L)),
        ValueError,
        r"x must be finite",
    ),
    (
        "inf_z",
        lambda: losses.log_standard_normal(_with(-math.inf, 4, L)),
        ValueError,
        r"z must be finite",
    ),
    (
        "inf_logits",
        lambda: losses.log_bernoulli(_t(4, D), _with(math.inf, 4, D)),
        ValueError,
        r"logits must be finite",
    ),
    (
        "nan_mu_p",
        lambda: losses.kl_normal_normal(_t(4, L), _t(4, L), _with(math.nan, 4, L), _t(4, L)),
        ValueError,
        r"mu_p must be finite",
    ),
    (
        "nan_logits_elbo",
        lambda: losses.elbo(_t(4, D), _with(math.nan, 4, D), _t(4, L), _t(4, L)),
        ValueError,
        r"logits must be finite",
    ),
    (
        "nan_lw_iwae",
        lambda: losses.iwae_bound(_with(math.nan, K, 4)),
        ValueError,
        r"log_weights must be finite",
    ),
    (
        "inf_lw_mc",
        lambda: losses.elbo_mc(_with(-math.inf, K, 4)),
        ValueError,
        r"log_weights must be finite",
    ),
    # Bernoulli targets outside [0, 1]
    (
        "x_above_1",
        lambda: losses.log_bernoulli(_with(1.5, 4, D), _t(4, D)),
        ValueError,
        r"x must lie in \[0, 1\].*got values in \[0\.5, 1\.5\]",
    ),
    (
        "x_below_0",
        lambda: losses.log_bernoulli(_with(-0.1, 4, D), _t(4, D)),
        ValueError,
        r"x must lie in \[0, 1\]",
    ),
    (
        "x_above_1_elbo",
        lambda: losses.elbo(_with(2.0, 4, D), _t(4, D), _t(4, L), _t(4, L)),
        ValueError,
        r"x must lie in \[0, 1\]",
    ),
    # beta
    (
        "beta_negative",
        lambda: losses.elbo(_t(4, D), _t(4, D), _t(4, L), _t(4, L), beta=-0.5),
        ValueError,
        r"beta must be >= 0",
    ),
    (
        "beta_negative_neg_elbo",
        lambda: losses.negative_elbo(_t(4, D), _t(4, D), _t(4, L), _t(4, L), beta=-1.0),
        ValueError,
        r"beta must be >= 0",
    ),
    (
        "beta_nan",
        lambda: losses.elbo(_t(4, D), _t(4, D), _t(4, L), _t(4, L), beta=math.nan),
        ValueError,
        r"beta must be finite",
    ),
    (
        "beta_str",
        lambda: losses.elbo(_t(4, D), _t(4, D), _t(4, L), _t(4, L), beta="1"),
        TypeError,
        r"beta must be a real number; got str",
    ),
]


@pytest.mark.parametrize(
    ("call", "exc", "match"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


REDUCTION_CALLS = {
    "log_normal_diag": lambda r: losses.log_normal_diag(_t(4, L), _t(4, L), _t(4, L), reduction=r),
    "log_standard_normal": lambda r: losses.log_standard_normal(_t(4, L), reduction=r),
    "log_bernoulli": lambda r: losses.log_bernoulli(_t(4, D), _t(4, D), reduction=r),
    "kl_normal_std_normal": lambda r: losses.kl_normal_std_normal(_t(4, L), _t(4, L), reduction=r),
    "kl_normal_normal": lambda r: losses.kl_normal_normal(
        _t(4, L), _t(4, L), _t(4, L), _t(4, L), reduction=r
    ),
    "elbo": lambda r: losses.elbo(_t(4, D), _t(4, D), _t(4, L), _t(4, L), reduction=r),
    "negative_elbo": lambda r: losses.negative_elbo(
        _t(4, D), _t(4, D), _t(4, L), _t(4, L), reduction=r
    ),
    "elbo_mc": lambda r: losses.elbo_mc(_t(K, 4), reduction=r),
    "iwae_bound": lambda r: losses.iwae_bound(_t(K, 4), reduction=r),
}


@pytest.mark.parametrize("bad", ["avg", "MEAN", None, 0])
@pytest.mark.parametrize("name", list(REDUCTION_CALLS))
def test_unknown_reduction(name, bad):
    with pytest.raises(ValueError, match=r"reduction must be one of 'none', 'mean', 'sum'; got "):
        REDUCTION_CALLS[name](bad)


def test_reduction_is_keyword_only():
    with pytest.raises(TypeError):
        losses.kl_normal_std_normal(_t(4, L), _t(4, L), "sum")
    with pytest.raises(TypeError):
        losses.iwae_bound(_t(K, 4), "sum")


# --------------------------------------------------------------------------------------------
# The validation switch
# --------------------------------------------------------------------------------------------


def _unchecked_calls():
    """Calls that fail validation; with validation off they must run and return a tensor."""
    nan_mu = _with(math.nan, 4, L)
    return {
        "nan_mu": lambda: losses.kl_normal_std_normal(nan_mu, _t(4, L), reduction="none"),
        "x_outside": lambda: losses.log_bernoulli(_with(1.5, 4, D), _t(4, D)),
        "nan_lw": lambda: losses.iwae_bound(_with(math.nan, K, 4), reduction="none"),
        "nan_logits_elbo": lambda: losses.elbo(_t(4, D), _with(math.nan, 4, D), _t(4, L), _t(4, L)),
    }


def test_set_validation_false_skips_checks_and_true_restores_them():
    assert losses.is_validation_enabled()
    losses.set_validation(False)
    assert not losses.is_validation_enabled()
    out = _unchecked_calls()["nan_mu"]()
    assert torch.isnan(out[0]) and torch.isfinite(out[1:]).all()  # nan passed straight through
    for call in _unchecked_calls().values():
        assert isinstance(call(), torch.Tensor)
    losses.set_validation(True)
    assert losses.is_validation_enabled()
    for call in _unchecked_calls().values():
        with pytest.raises(ValueError):
            call()


def test_validation_context_manager_restores_previous_setting():
    with losses.validation(False):
        assert not losses.is_validation_enabled()
        assert torch.isnan(_unchecked_calls()["nan_lw"]()).any()
        with losses.validation(True):
            assert losses.is_validation_enabled()
            with pytest.raises(ValueError, match="log_weights must be finite"):
                _unchecked_calls()["nan_lw"]()
        assert not losses.is_validation_enabled()
    assert losses.is_validation_enabled()
    with pytest.raises(ValueError, match="mu must be finite"):
        _unchecked_calls()["nan_mu"]()


def test_validation_context_manager_restores_after_an_exception():
    with pytest.raises(RuntimeError, match="boom"):
        with losses.validation(False):
            raise RuntimeError("boom")
    assert losses.is_validation_enabled()


def test_set_validation_rejects_non_bool():
    with pytest.raises(TypeError, match="enabled must be a bool; got int"):
        losses.set_validation(0)
    with pytest.raises(TypeError, match="enabled must be a bool; got str"):
        with losses.validation("off"):
            pass
    assert losses.is_validation_enabled()


def test_results_agree_with_validation_off(generator):
    inputs, fn, ref = CASES["elbo_k_samples"](generator, (4,))
    with losses.validation(False):
        out = fn(**inputs, reduction="none")
    torch.testing.assert_close(out, ref)
