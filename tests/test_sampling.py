"""Tests of :func:`vae_tutorial.sampling.reparameterize`.

Moments are compared within 4 standard errors at a fixed seed (a false-failure rate of about
6e-5 per compared value for a fresh seed).
"""

from __future__ import annotations

import math

import pytest
import torch

from vae_tutorial import losses
from vae_tutorial.sampling import reparameterize

F64 = torch.float64


def _params(gen: torch.Generator, *shape: int) -> tuple[torch.Tensor, torch.Tensor]:
    mu = torch.randn(shape, generator=gen, dtype=F64)
    logvar = 0.5 * torch.randn(shape, generator=gen, dtype=F64)
    return mu, logvar


@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 4)], ids=str)
def test_shape_without_n_samples(shape, device, generator):
    mu, logvar = (t.to(device) for t in _params(generator, *shape))
    z = reparameterize(mu, logvar)
    assert z.shape == shape
    assert z.dtype == F64 and z.device.type == device.type


@pytest.mark.parametrize("k", [1, 7])
@pytest.mark.parametrize("shape", [(5,), (4, 3)], ids=str)
def test_shape_with_n_samples(shape, k, device, generator):
    mu, logvar = (t.to(device) for t in _params(generator, *shape))
    z = reparameterize(mu, logvar, n_samples=k)
    assert z.shape == (k, *shape)
    # the K samples are different draws, not one draw repeated
    if k > 1:
        assert not torch.equal(z[0], z[1])


@pytest.mark.parametrize("n_samples", [None, 6])
def test_eps_injection_is_the_affine_map(n_samples, device, generator):
    mu, logvar = (t.to(device) for t in _params(generator, 4, 3))
    shape = (4, 3) if n_samples is None else (n_samples, 4, 3)
    eps = torch.randn(shape, generator=generator, dtype=F64).to(device)
    z = reparameterize(mu, logvar, eps=eps, n_samples=n_samples)
    # z = mu + sigma * eps with sigma = sqrt(exp(logvar)), written another way
    expected = mu + torch.sqrt(torch.exp(logvar)) * eps
    torch.testing.assert_close(z, expected, rtol=1e-14, atol=1e-14)


def test_eps_zero_gives_the_mean_and_unit_eps_gives_mean_plus_std(generator):
    mu, logvar = _params(generator, 4, 3)
    torch.testing.assert_close(reparameterize(mu, logvar, eps=torch.zeros(4, 3, dtype=F64)), mu)
    std = torch.exp(logvar).sqrt()
    torch.testing.assert_close(
        reparameterize(mu, logvar, eps=torch.ones(4, 3, dtype=F64)), mu + std
    )


def test_generator_makes_draws_reproducible(generator):
    mu, logvar = _params(generator, 4, 3)
    a = reparameterize(mu, logvar, n_samples=5, generator=torch.Generator().manual_seed(3))
    b = reparameterize(mu, logvar, n_samples=5, generator=torch.Generator().manual_seed(3))
    c = reparameterize(mu, logvar, n_samples=5, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)


def test_gradients_flow_to_mu_and_logvar(generator):
    mu, logvar = (t.requires_grad_(True) for t in _params(generator, 4, 3))
    eps = torch.randn((5, 4, 3), generator=generator, dtype=F64)
    z = reparameterize(mu, logvar, eps=eps, n_samples=5)
    z.sum().backward()
    # dz/dmu = 1, dz/dlogvar = sigma * eps / 2, summed over the K samples
    torch.testing.assert_close(mu.grad, torch.full_like(mu, 5.0))
    sigma = torch.exp(0.5 * logvar.detach())
    torch.testing.assert_close(logvar.grad, (0.5 * sigma * eps).sum(0))


def test_gradcheck_with_fixed_eps(generator):
    mu, logvar = (t.requires_grad_(True) for t in _params(generator, 3, 2))
    eps = torch.randn((4, 3, 2), generator=generator, dtype=F64)
    assert torch.autograd.gradcheck(
        lambda m, lv: reparameterize(m, lv, eps=eps, n_samples=4), (mu, logvar)
    )


def test_sample_moments_within_4_standard_errors(device):
    n = 40_000
    mu = torch.tensor([-1.5, 0.0, 2.0], dtype=F64, device=device)
    logvar = torch.tensor([-1.0, 0.0, 1.5], dtype=F64, device=device)
    gen = torch.Generator(device=device).manual_seed(1234)
    z = reparameterize(mu, logvar, n_samples=n, generator=gen)  # (n, 3)
    var = torch.exp(logvar)
    mean_hat, var_hat = z.mean(0), z.var(0)
    se_mean = torch.sqrt(var / n)
    se_var = var * math.sqrt(2.0 / (n - 1))  # sd of the sample variance of a Gaussian
    assert ((mean_hat - mu).abs() <= 4 * se_mean).all(), (
        f"n={n}: sample mean {mean_hat.tolist()}, standard error {se_mean.tolist()}, "
        f"exact {mu.tolist()}"
    )
    assert ((var_hat - var).abs() <= 4 * se_var).all(), (
        f"n={n}: sample variance {var_hat.tolist()}, standard error {se_var.tolist()}, "
        f"exact {var.tolist()}"
    )
    # the coordinates are independent: sample correlations are within 4 s.e. (1/sqrt(n)) of 0
    corr = torch.corrcoef(z.T)
    off = corr[~torch.eye(3, dtype=torch.bool, device=device)]
    assert (off.abs() <= 4 / math.sqrt(n)).all(), f"n={n}: correlations {off.tolist()}"


def test_sample_log_density_matches_the_gaussian(generator):
    """The samples are N(mu, sigma^2): the mean of log q over samples is minus the entropy."""
    n = 40_000
    mu, logvar = _params(generator, 3)
    z = reparameterize(mu, logvar, n_samples=n, generator=generator)
    log_q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
    neg_entropy = -0.5 * (3 * (1 + math.log(2 * math.pi)) + logvar.sum())
    se = log_q.std() / math.sqrt(n)
    assert abs(log_q.mean() - neg_entropy) <= 4 * se, (
        f"n={n}: estimate {float(log_q.mean())}, standard error {float(se)}, "
        f"exact {float(neg_entropy)}"
    )


@pytest.mark.parametrize(
    ("eps_shape", "n_samples", "expected"),
    [
        ((4, 2), None, r"\(4, 3\)"),
        ((4, 3), 5, r"\(5, 4, 3\)"),
        ((5, 4, 3), None, r"\(4, 3\)"),
        ((6, 4, 3), 5, r"\(5, 4, 3\)"),
    ],
)
def test_bad_eps_shape(eps_shape, n_samples, expected):
    mu = torch.zeros(4, 3, dtype=F64)
    with pytest.raises(ValueError, match=rf"eps must have shape {expected}; got"):
        reparameterize(mu, mu.clone(), eps=torch.zeros(eps_shape, dtype=F64), n_samples=n_samples)


@pytest.mark.parametrize(
    ("n_samples", "exc", "match"),
    [
        (0, ValueError, r"n_samples must be >= 1; got 0"),
        (-3, ValueError, r"n_samples must be >= 1; got -3"),
        (2.0, TypeError, r"n_samples must be an int; got float"),
        (True, TypeError, r"n_samples must be an int; got bool"),
    ],
)
def test_bad_n_samples(n_samples, exc, match):
    mu = torch.zeros(4, 3, dtype=F64)
    with pytest.raises(exc, match=match):
        reparameterize(mu, mu.clone(), n_samples=n_samples)


@pytest.mark.parametrize(
    ("mu", "logvar", "exc", "match"),
    [
        ([0.0, 1.0], torch.zeros(2), TypeError, r"mu must be a torch\.Tensor; got list"),
        (
            torch.zeros(2, dtype=torch.int64),
            torch.zeros(2),
            TypeError,
            r"mu must be a floating-point",
        ),
        (
            torch.zeros(4, 3),
            torch.zeros(4, 2),
            ValueError,
            r"logvar must have the shape of mu \(4, 3\); got \(4, 2\)",
        ),
        (torch.tensor([0.0, math.nan]), torch.zeros(2), ValueError, r"mu must be finite"),
        (torch.zeros(2), torch.tensor([math.inf, 0.0]), ValueError, r"logvar must be finite"),
    ],
)
def test_bad_parameters(mu, logvar, exc, match):
    with pytest.raises(exc, match=match):
        reparameterize(mu, logvar)


def test_bad_eps_type():
    mu = torch.zeros(4, 3)
    with pytest.raises(TypeError, match=r"eps must be a floating-point tensor"):
        reparameterize(mu, mu.clone(), eps=torch.zeros(4, 3, dtype=torch.int64))


def test_validation_off_skips_the_checks():
    mu = torch.tensor([[0.0, math.nan]])
    with losses.validation(False):
        z = reparameterize(mu, torch.zeros(1, 2), eps=torch.ones(1, 2))
    assert z[0, 0] == 1.0 and torch.isnan(z[0, 1])


# --- the closed-form variances of chapter 5's estimators, against Monte Carlo ---

from functools import partial  # noqa: E402

from vae_tutorial import sampling  # noqa: E402


def _sum_sq(z: torch.Tensor) -> torch.Tensor:
    return (z**2).sum(-1)


@pytest.mark.parametrize(
    ("mu", "sigma", "k", "baseline_fraction"),
    [
        ([1.0], [1.0], 1, 0.0),                      # the chapter's exercise: 30 and 4
        ([0.5, -1.0, 0.2], [0.7, 1.3, 0.4], 4, 0.0),  # not isotropic
        ([-1.5] * 5, [0.4] * 5, 2, 1.0),             # baseline b = E_q[f]
        ([2.0, 0.0, -0.5, 1.0], [1.5, 0.8, 1.0, 0.6], 8, 0.5),
        ([1.0] * 16, [1.0] * 16, 1, 1.0),            # the chapter's baseline exercise
    ],
    ids=["L1", "L3", "L5-baseline", "L4-half-baseline", "L16-baseline"],
)
def test_sum_of_squares_variance_matches_monte_carlo(mu, sigma, k, baseline_fraction):
    """The closed form of both variances (per coordinate) lies within 5 standard errors of the
    variance that ``gradient_variance`` measures over R = 100,000 estimates at a fixed seed; the
    standard error of a sample variance is sqrt((m4 - s^4) / R), m4 the fourth central moment
    of the R estimates (the same draws, recomputed)."""
    mu = torch.tensor(mu, dtype=F64)
    logvar = 2 * torch.tensor(sigma, dtype=F64).log()
    baseline = baseline_fraction * float((mu**2 + logvar.exp()).sum())
    var_score, var_path = sampling.sum_of_squares_gradient_variance(
        mu, logvar, k, baseline=baseline)
    n_repeats = 100_000
    estimators = {"score": (partial(sampling.score_function_gradient, baseline=baseline),
                            var_score),
                  "pathwise": (sampling.pathwise_gradient, var_path)}
    for name, (estimator, exact) in estimators.items():
        stats = sampling.gradient_variance(estimator, _sum_sq, mu, logvar, k, n_repeats,
                                           generator=torch.Generator().manual_seed(7))
        # the same R estimates, to measure the standard error of their variance
        g_mu, _ = estimator(_sum_sq, mu.expand(n_repeats, -1), logvar.expand(n_repeats, -1),
                            k, generator=torch.Generator().manual_seed(7))
        torch.testing.assert_close(g_mu.var(0), stats.var_mu, rtol=1e-12, atol=0)
        centred = g_mu - g_mu.mean(0)
        m4 = (centred**4).mean(0)
        se = ((m4 - stats.var_mu**2) / n_repeats).sqrt()
        z_scores = (stats.var_mu - exact) / se
        assert z_scores.abs().max() < 5, (
            f"{name}: n={n_repeats}, estimate {stats.var_mu.tolist()}, "
            f"standard error {se.tolist()}, exact {exact.tolist()}")
        # and the mean is the exact gradient 2 mu (unbiased)
        se_mean = (stats.var_mu / n_repeats).sqrt()
        assert ((stats.mean_mu - 2 * mu).abs() < 5 * se_mean).all(), (name, stats.mean_mu)


def test_sum_of_squares_variance_closed_values():
    one, zero = torch.ones(1, dtype=F64), torch.zeros(1, dtype=F64)
    # L = 1, mu = sigma = 1: (mu^4 + 18 mu^2 sigma^2 + 15 sigma^4) / sigma^2 - 4 mu^2 = 30
    s, p = sampling.sum_of_squares_gradient_variance(one, zero)
    assert (s.item(), p.item()) == (30.0, 4.0)
    # 1 / K in both
    s8, p8 = sampling.sum_of_squares_gradient_variance(one, zero, 8)
    assert (s8.item(), p8.item()) == (30.0 / 8, 0.5)
    # L = 16, b = 0: per coordinate (32 + 2)^2 + 96 + 8 = 1260 (the chapter's table: ~20,340 / 16)
    s16, p16 = sampling.sum_of_squares_gradient_variance(torch.ones(16, dtype=F64),
                                                         torch.zeros(16, dtype=F64))
    torch.testing.assert_close(s16, torch.full((16,), 1260.0, dtype=F64), rtol=1e-15, atol=0)
    # batch dims and a tensor baseline, one per batch row
    mu = torch.tensor([[1.0, 0.5], [0.0, -2.0]], dtype=F64)
    lv = torch.tensor([[0.0, -1.0], [0.3, 0.2]], dtype=F64)
    b = torch.tensor([0.0, 2.5], dtype=F64)
    s, p = sampling.sum_of_squares_gradient_variance(mu, lv, 3, baseline=b)
    for row in range(2):
        s_row, p_row = sampling.sum_of_squares_gradient_variance(
            mu[row], lv[row], 3, baseline=float(b[row]))
        torch.testing.assert_close(s[row], s_row, rtol=1e-15, atol=0)
        torch.testing.assert_close(p[row], p_row, rtol=1e-15, atol=0)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n_samples": 0}, ValueError, "n_samples must be >= 1; got 0"),
        ({"n_samples": 2.0}, TypeError, "n_samples must be an int"),
        ({"baseline": "1"}, TypeError, "baseline must be a real number or a tensor; got str"),
        ({"baseline": float("nan")}, ValueError, "baseline must be finite"),
        ({"logvar": torch.zeros(3, dtype=F64)}, ValueError, "logvar must have the shape"),
    ],
)
def test_sum_of_squares_variance_bad_arguments(kwargs, exc, match):
    args = {"mu": torch.ones(2, dtype=F64), "logvar": torch.zeros(2, dtype=F64), **kwargs}
    with pytest.raises(exc, match=match):
        sampling.sum_of_squares_gradient_variance(**args)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reparameterize_with_zero_noise_is_mu_at_any_variance(dtype):
    # exp(logvar / 2) overflows (float32 at logvar 200, float64 at 1500); z = mu exactly where
    # eps = 0, and the gradients stay finite: 1 for mu, 0 for logvar there
    mu = torch.tensor([[0.5, -1.0, 2.0]], dtype=dtype, requires_grad=True)
    logvar = torch.tensor([[200.0, 1500.0, 0.0]], dtype=dtype, requires_grad=True)
    eps = torch.tensor([[0.0, 0.0, 1.5]], dtype=dtype)
    z = sampling.reparameterize(mu, logvar, eps=eps)
    torch.testing.assert_close(z, torch.tensor([[0.5, -1.0, 3.5]], dtype=dtype))
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    torch.testing.assert_close(logvar.grad, torch.tensor([[0.0, 0.0, 0.75]], dtype=dtype))
