"""Tests for the score-function and pathwise gradient estimators in vae_tutorial.sampling.

Exact reference: for f(z) = sum_i a_i (z_i - c_i)^2 and q = N(mu, diag sigma^2),
E_q[f] = sum_i a_i ((mu_i - c_i)^2 + sigma_i^2), so grad_mu = 2 a (mu - c) and
grad_logvar = a sigma^2. Both estimators must agree with it within 4 standard errors at fixed seeds.
"""

from __future__ import annotations

import pytest
import torch

from vae_tutorial import sampling

A = torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64)
C = torch.tensor([0.3, -1.0, 0.0], dtype=torch.float64)


def f(z: torch.Tensor) -> torch.Tensor:
    return (A * (z - C) ** 2).sum(-1)


def exact(mu: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return 2 * A * (mu - C), A * logvar.exp()


MU = torch.tensor([[0.5, 0.2, -0.4], [1.0, -1.0, 0.3]], dtype=torch.float64)
LOGVAR = torch.tensor([[0.0, -1.0, 0.5], [-0.5, 0.2, -2.0]], dtype=torch.float64)


@pytest.mark.parametrize("estimator", ["score", "pathwise"])
def test_estimators_unbiased_within_4_se(estimator):
    stats = sampling.gradient_variance(estimator, f, MU, LOGVAR, n_samples=4, n_repeats=20000,
                                       generator=torch.Generator().manual_seed(0))
    for mean, var, ref, name in zip(
        (stats.mean_mu, stats.mean_logvar),
        (stats.var_mu, stats.var_logvar),
        exact(MU, LOGVAR),
        ("mu", "logvar"),
        strict=True,
    ):
        se = (var / stats.n_repeats).sqrt()
        assert bool(((mean - ref).abs() < 4 * se + 1e-12).all()), (estimator, name, mean, se, ref)


def test_pathwise_has_lower_variance_here():
    g = torch.Generator().manual_seed(1)
    score = sampling.gradient_variance("score", f, MU, LOGVAR, 1, 4000, generator=g)
    path = sampling.gradient_variance("pathwise", f, MU, LOGVAR, 1, 4000, generator=g)
    assert float(score.total_variance) > 5 * float(path.total_variance)


def test_variance_falls_as_one_over_k():
    g = torch.Generator().manual_seed(2)
    v1 = sampling.gradient_variance("score", f, MU, LOGVAR, 1, 20000, generator=g).total_variance
    v10 = sampling.gradient_variance("score", f, MU, LOGVAR, 10, 20000, generator=g).total_variance
    assert 7 < float(v1 / v10) < 13


def test_pathwise_matches_hand_formula_for_given_eps():
    eps = torch.randn(5, *MU.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    g_mu, g_lv = sampling.pathwise_gradient(f, MU, LOGVAR, 5, eps=eps)
    sigma = (0.5 * LOGVAR).exp()
    z = MU + sigma * eps
    df = 2 * A * (z - C)  # grad_z f
    torch.testing.assert_close(g_mu, df.mean(0))
    torch.testing.assert_close(g_lv, (df * 0.5 * sigma * eps).mean(0))


def test_score_matches_autograd_score_of_torch_distributions():
    eps = torch.randn(5, *MU.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    g_mu, g_lv = sampling.score_function_gradient(f, MU, LOGVAR, 5, eps=eps)
    mu, lv = MU.clone().requires_grad_(), LOGVAR.clone().requires_grad_()
    z = (MU + (0.5 * LOGVAR).exp() * eps).detach()
    logq = torch.distributions.Normal(mu, (0.5 * lv).exp()).log_prob(z).sum(-1)  # (K, B)
    surrogate = (f(z) * logq).mean(0).sum()
    ref_mu, ref_lv = torch.autograd.grad(surrogate, (mu, lv))
    torch.testing.assert_close(g_mu, ref_mu)
    torch.testing.assert_close(g_lv, ref_lv)


def test_baseline_keeps_score_unbiased_and_reduces_variance():
    g = torch.Generator().manual_seed(5)
    b = float(f(MU).mean())
    plain = sampling.gradient_variance("score", f, MU, LOGVAR, 1, 20000, generator=g)
    est = lambda *a, **k: sampling.score_function_gradient(*a, baseline=b, **k)  # noqa: E731
    based = sampling.gradient_variance(est, f, MU, LOGVAR, 1, 20000, generator=g)
    ref_mu, _ = exact(MU, LOGVAR)
    se = (based.var_mu / 20000).sqrt()
    assert bool(((based.mean_mu - ref_mu).abs() < 4 * se).all())
    assert float(based.total_variance) < float(plain.total_variance)


def test_errors():
    with pytest.raises(ValueError, match="f must map z"):
        sampling.pathwise_gradient(lambda z: z, MU, LOGVAR)
    with pytest.raises(ValueError, match="estimator must be"):
        sampling.gradient_variance("nope", f, MU, LOGVAR)
    with pytest.raises(ValueError, match="n_repeats must be >= 2"):
        sampling.gradient_variance("score", f, MU, LOGVAR, 1, 1)
    with pytest.raises(ValueError, match="logvar must have the shape of mu"):
        sampling.score_function_gradient(f, MU, LOGVAR[:, :2])
