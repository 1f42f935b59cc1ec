"""Tests of :mod:`vae_tutorial.quadrature` (and of the naive Monte Carlo of its cost study)
against the exact linear-Gaussian evidence and posterior, closed forms, and Monte Carlo means
within 4 standard errors at a fixed seed.
"""

from __future__ import annotations

import math

import pytest
import torch
from lg_fixtures import F64, within_4se
from torch.distributions import Normal, kl_divergence

from vae_tutorial import estimators, losses, quadrature
from vae_tutorial.models import LinearGaussian


def test_make_grid_shape_and_volume():
    pts, vol = quadrature.make_grid(3, 4, lim=2.0)
    assert pts.shape == (64, 3)
    assert math.isclose(vol, 1.0)
    assert float(pts.min()) == -1.5 and float(pts.max()) == 1.5


@pytest.mark.parametrize("latent_dim, n", [(1, 2000), (2, 300)])
def test_grid_log_evidence_matches_exact(latent_dim, n, generator):
    m = LinearGaussian.random(3, latent_dim, 0.5, seed=1).requires_grad_(False)
    x, _ = m.sample(4, generator=generator)
    torch.testing.assert_close(
        quadrature.grid_log_evidence(m, x, n_per_dim=n), m.log_evidence(x), rtol=0, atol=1e-8
    )


def test_grid_posterior_moments_match_exact(model, data):
    x = data[0]
    pts, vol = quadrature.make_grid(2, 300, lim=6.0)
    dens, log_ev = quadrature.grid_posterior(model, x, pts, vol)
    torch.testing.assert_close(log_ev, model.log_evidence(x), rtol=0, atol=1e-8)
    mean_exact, cov_exact = model.posterior(x)
    w = dens * vol  # (B, N) probabilities
    mean = w @ pts
    torch.testing.assert_close(mean, mean_exact, rtol=0, atol=1e-6)
    centred = pts.unsqueeze(0) - mean.unsqueeze(1)  # (B, N, L)
    cov = torch.einsum("bn,bni,bnj->bij", w, centred, centred)
    torch.testing.assert_close(cov, cov_exact.expand_as(cov), rtol=0, atol=1e-6)


def test_prior_mc_log_evidence_given_eps_is_log_mean_of_likelihoods(model, data, generator):
    x = data[0]
    eps = torch.randn(1000, 2, dtype=F64, generator=generator)
    est = estimators.naive_monte_carlo(
        model, x, 1000, eps=eps, chunk_size=300, shared_noise=True
    ).log_evidence
    mean = x.new_zeros(x.shape[0])
    # independent: p(x|z) = N(x; Wz + b, sigma^2 I) with torch.distributions
    lik = (
        Normal(eps @ model.weight.T + model.bias, model.noise_var.sqrt())
        .log_prob(x.unsqueeze(1))
        .sum(-1)
    )
    ref = torch.logsumexp(lik, dim=1) - math.log(1000)
    torch.testing.assert_close(est, ref + mean)


def test_prior_mc_evidence_is_unbiased_within_4_se(generator):
    m = LinearGaussian.random(2, 1, 1.0, seed=2).requires_grad_(False)
    x, _ = m.sample(3, generator=generator)
    k = 200_000
    eps = torch.randn(k, 1, dtype=F64, generator=generator)
    est = estimators.naive_monte_carlo(m, x, k, eps=eps, shared_noise=True).log_evidence.exp()
    lik = (m.log_joint(x, eps.unsqueeze(1)) - losses.log_standard_normal(eps).unsqueeze(1)).exp()
    se = lik.std(0) / math.sqrt(k)
    within_4se(est, se, m.log_evidence(x).exp(), "naive MC p(x)")


def test_evidence_cost_study_rows():
    rows = quadrature.evidence_cost_study([1, 3], budget=4096, data_dim=6, n_points=2)
    assert [r["latent_dim"] for r in rows] == [1, 3]
    assert rows[0]["grid_per_dim"] == 4096 and rows[1]["grid_per_dim"] == 16
    assert rows[0]["grid_error"] < 1e-8
    assert rows[1]["grid_error"] > rows[0]["grid_error"]
    with pytest.raises(ValueError, match="latent_dims must be a non-empty"):
        quadrature.evidence_cost_study([])


def test_kl_quadrature_matches_closed_form():
    grid = torch.linspace(-20, 20, 20001, dtype=F64)
    lq = Normal(torch.tensor(0.5, dtype=F64), torch.tensor(0.7, dtype=F64)).log_prob(grid)
    lp = Normal(torch.tensor(-1.0, dtype=F64), torch.tensor(1.3, dtype=F64)).log_prob(grid)
    exact = kl_divergence(Normal(0.5, 0.7), Normal(-1.0, 1.3))
    assert abs(float(quadrature.kl_quadrature_1d(lq, lp, grid)) - float(exact)) < 1e-6


@pytest.mark.parametrize("latent_dim", [1, 3])
def test_naive_mc_relative_variance_theorem_of_chapter_1(latent_dim):
    # Var[p(x|z)] / p(x)^2 = rho^L - 1 for W = I, b = 0, x = 0, z ~ N(0, I)
    sigma, k = 0.5, 400_000
    rho = (1 + sigma**2) / (sigma * math.sqrt(2 + sigma**2))
    eye = torch.eye(latent_dim, dtype=F64)
    m = LinearGaussian(eye, torch.zeros(latent_dim, dtype=F64), sigma).requires_grad_(False)
    x0 = torch.zeros(1, latent_dim, dtype=F64)
    z = torch.randn(k, 1, latent_dim, dtype=F64, generator=torch.Generator().manual_seed(7))
    w = (m.log_likelihood(x0, z) - m.log_evidence(x0)).exp()[:, 0]  # w / p(x), mean 1
    # the 4th moment sets the standard error of the sample variance
    rel_var, exact = w.var().item(), rho**latent_dim - 1
    se = math.sqrt((((w - 1) ** 2 - exact) ** 2).mean().item() / k)
    assert abs(rel_var - exact) < 4 * se, (k, rel_var, se, exact)
    assert abs(w.mean().item() - 1.0) < 4 * w.std().item() / math.sqrt(k)
