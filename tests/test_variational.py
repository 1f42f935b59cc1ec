"""Tests of :mod:`vae_tutorial.variational`: the fits of q reach the exact optimum of the
linear-Gaussian model, leave theta alone, and variational EM raises the ELBO below log p(x).
"""

from __future__ import annotations

import math

import pytest
import torch
from lg_fixtures import F64
from torch.distributions import Normal

from vae_tutorial import variational
from vae_tutorial.models import GaussianMixture, LinearGaussian


def test_fit_gaussian_1d_forward_matches_mixture_moments_and_reverse_seeks_a_mode():
    gm = GaussianMixture(
        torch.tensor([0.4, 0.6], dtype=F64),
        torch.tensor([[-3.0], [3.0]], dtype=F64),
        torch.tensor([[[1.0]], [[0.5]]], dtype=F64),
    )
    grid = torch.linspace(-12, 12, 801, dtype=F64)
    log_p = gm.log_evidence(grid[:, None])
    mu_f, lv_f = variational.fit_gaussian_1d(log_p, grid, direction="forward")
    mean = 0.4 * -3 + 0.6 * 3
    var = 0.4 * (1 + 9) + 0.6 * (0.5 + 9) - mean**2
    assert abs(mu_f - mean) < 1e-6 and abs(math.exp(lv_f) - var) < 1e-5
    mu_r, lv_r = variational.fit_gaussian_1d(
        log_p, grid, direction="reverse", init=(1.0, 0.0), steps=300, lr=0.1
    )
    assert abs(mu_r - 3.0) < 0.05 and abs(math.exp(lv_r) - 0.5) < 0.05
    # on a Gaussian target both directions recover it
    lp_gauss = Normal(torch.tensor(1.0, dtype=F64), torch.tensor(2.0, dtype=F64)).log_prob(grid)
    mu_g, lv_g = variational.fit_gaussian_1d(lp_gauss, grid, steps=300, lr=0.1)
    assert abs(mu_g - 1.0) < 0.02 and abs(lv_g - math.log(4.0)) < 0.02
    with pytest.raises(ValueError, match="direction must be"):
        variational.fit_gaussian_1d(log_p, grid, direction="sideways")


def test_fits_approach_the_optimum_and_leave_theta_alone(model, generator):
    x, _ = model.sample(8, generator=generator)
    before = [p.clone() for p in model.parameters()]
    best = float(
        model.elbo(x, *model.optimal_diagonal_q(x), reduction="mean")
    )
    svi = variational.fit_per_datapoint(
        model, x, steps=200, lr=0.1, n_samples=16, generator=generator
    )
    amo = variational.fit_amortized(model, x, steps=300, lr=0.1, n_samples=16, generator=generator)
    assert svi.mu.shape == (8, 2) and amo.mu.shape == (8, 2) and amo.encoder is not None
    for res in (svi, amo):
        assert res.history[-1] <= best + 1e-12
        assert best - res.history[-1] < 0.05, (best, res.history[-1])  # nats per example
        assert res.history[-1] > res.history[0]
    for p, q in zip(before, model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_variational_em_raises_the_elbo_and_stays_below_log_evidence(generator):
    truth = LinearGaussian.random(4, 1, 0.3, seed=5).requires_grad_(False)
    x, _ = truth.sample(100, generator=generator)
    start = LinearGaussian.random(4, 1, 1.0, seed=6)
    hist = variational.variational_em(start, x, n_iters=10, m_steps=10, lr=0.05)
    assert len(hist["elbo"]) == 11
    assert hist["elbo"][-1] > hist["elbo"][0] + 1.0
    assert all(e <= ev + 1e-10 for e, ev in zip(hist["elbo"], hist["log_evidence"], strict=True))
