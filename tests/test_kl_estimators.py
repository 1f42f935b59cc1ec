"""Tests of the Monte Carlo KL of :mod:`vae_tutorial.estimators` and of
:func:`vae_tutorial.joint.entropy_normal_diag` against ``torch.distributions``, within 4
standard errors at a fixed seed.
"""

from __future__ import annotations

import math

import pytest
import torch
from lg_fixtures import F64, within_4se
from torch.distributions import Normal, kl_divergence

from vae_tutorial import estimators, joint


@pytest.mark.parametrize("shape", [(3,), (4, 3), (2, 5, 3)])
def test_entropy_matches_torch_distributions(shape, generator):
    logvar = torch.randn(shape, dtype=F64, generator=generator)
    ref = Normal(torch.zeros(shape, dtype=F64), (0.5 * logvar).exp()).entropy().sum(-1)
    torch.testing.assert_close(joint.entropy_normal_diag(logvar), ref)
    torch.testing.assert_close(joint.entropy_normal_diag(logvar, reduction="mean"), ref.mean())


def test_kl_normal_mc_within_4_se_of_torch_distributions(generator):
    mu_q, lv_q = (
        torch.randn(4, 3, dtype=F64, generator=generator),
        torch.randn(4, 3, dtype=F64, generator=generator),
    )
    mu_p, lv_p = (
        torch.randn(4, 3, dtype=F64, generator=generator),
        torch.randn(4, 3, dtype=F64, generator=generator),
    )
    est = estimators.kl_normal_mc(mu_q, lv_q, mu_p, lv_p, 20_000, generator=generator)
    exact = kl_divergence(Normal(mu_q, (0.5 * lv_q).exp()), Normal(mu_p, (0.5 * lv_p).exp())).sum(
        -1
    )
    assert est.n_samples == 20_000 and est.estimate.shape == (4,)
    within_4se(est.estimate, est.standard_error, exact, "MC KL")


def test_kl_monte_carlo_standard_error_formula(generator):
    log_q = torch.randn(50, 2, dtype=F64, generator=generator)
    log_p = torch.randn(50, 2, dtype=F64, generator=generator)
    est = estimators.kl_monte_carlo(log_q, log_p)
    torch.testing.assert_close(est.estimate, (log_q - log_p).mean(0))
    torch.testing.assert_close(est.standard_error, (log_q - log_p).std(0) / math.sqrt(50))
    with pytest.raises(ValueError, match="K >= 2"):
        estimators.kl_monte_carlo(log_q[:1], log_p[:1])
    with pytest.raises(ValueError, match="log_p must have the shape of log_q"):
        estimators.kl_monte_carlo(log_q, log_p[:, :1])
