"""Tests for vae_tutorial.joint: the change of variables z = mu + sigma * eps.

Independent references: the density-ratio route log p(x|z) + log p(z) - log q(z|x) + log q(eps)
(source 003), torch.distributions for q, autograd for the Jacobian, and the closed-form ELBO of
the linear-Gaussian model for the expectation identity E[log p(x, eps)] = ELBO - H(q(eps)).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Independent, MultivariateNormal, Normal

from vae_tutorial import joint, losses
from vae_tutorial.models import VAE, LinearGaussian


def _std_normal(eps: torch.Tensor) -> torch.Tensor:
    return Independent(Normal(torch.zeros_like(eps), torch.ones_like(eps)), 1).log_prob(eps)


@torch.no_grad()
def test_vae_joint_equals_density_ratio_route_sample_by_sample():
    torch.manual_seed(0)
    model = VAE(data_dim=20, hidden_dim=16, latent_dim=4)
    x = torch.bernoulli(torch.full((6, 20), 0.4), generator=torch.Generator().manual_seed(1))
    eps = torch.randn(32, 6, 4, generator=torch.Generator().manual_seed(2))
    mu, logvar = model.encode(x)
    z = mu + (0.5 * logvar).exp() * eps
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    ratio = (
        losses.log_bernoulli(x, model.decode(z))
        + losses.log_standard_normal(z)
        - q.log_prob(z)
        + _std_normal(eps)
    )
    torch.testing.assert_close(joint.log_joint_eps(model, x, eps), ratio, atol=1e-5, rtol=0)
    # the same with mu and logvar passed explicitly, and with one eps per example
    torch.testing.assert_close(
        joint.log_joint_eps(model, x, eps[0], mu=mu, logvar=logvar), ratio[0], atol=1e-5, rtol=0
    )


@torch.no_grad()
def test_identity_elbo_minus_entropy_sample_by_sample_vae():
    """Per sample: log p(x, eps) - log q(eps) = log w.

    Averaged: mean log p(x, eps) = ELBO_MC - H_MC.
    """
    torch.manual_seed(3)
    model = VAE(data_dim=20, hidden_dim=16, latent_dim=4)
    x = torch.bernoulli(torch.full((6, 20), 0.4), generator=torch.Generator().manual_seed(4))
    g = torch.Generator().manual_seed(5)
    log_w = model.log_weights(x, 64, generator=g)
    eps = torch.randn(64, 6, 4, generator=torch.Generator().manual_seed(5))  # the same stream
    lj = joint.log_joint_eps(model, x, eps)
    torch.testing.assert_close(lj - _std_normal(eps), log_w, atol=1e-5, rtol=0)
    torch.testing.assert_close(
        lj.mean(0),
        losses.elbo_mc(log_w, reduction="none") + _std_normal(eps).mean(0),
        atol=1e-5,
        rtol=0,
    )


def test_log_det_jacobian_against_autograd():
    mu = torch.randn(3, dtype=torch.float64)
    logvar = torch.randn(3, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(
        lambda e: mu + (0.5 * logvar).exp() * e, torch.randn(3, dtype=torch.float64)
    )
    torch.testing.assert_close(joint.log_det_jacobian(logvar), torch.linalg.slogdet(jac).logabsdet)


def test_standard_normal_entropy():
    for dim in (1, 5):
        ref = MultivariateNormal(torch.zeros(dim), torch.eye(dim)).entropy()
        assert joint.standard_normal_entropy(dim) == pytest.approx(float(ref), abs=1e-6)
    with pytest.raises(ValueError, match="dim must be an int >= 1"):
        joint.standard_normal_entropy(0)


@torch.no_grad()
def test_linear_gaussian_expected_joint_is_elbo_minus_entropy():
    """E_eps[log p(x, eps)] = ELBO - H(q(eps)) with the closed-form ELBO, within 4 standard errors,
    and sample by sample log p(x, eps) = log p(x, z) - log q(z|x) + log q(eps) to 1e-10."""
    model = LinearGaussian.random(data_dim=3, latent_dim=2, noise_std=0.6, seed=1)
    x, _ = model.sample(5, generator=torch.Generator().manual_seed(2))
    mu = torch.full((5, 2), 0.1, dtype=torch.float64)
    logvar = torch.full((5, 2), -1.0, dtype=torch.float64)
    n = 20000
    eps = torch.randn(n, 5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    lj = joint.log_joint_eps(model, x, eps, mu=mu, logvar=logvar)
    z = mu + (0.5 * logvar).exp() * eps
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    ratio = model.log_joint(x, z) - q.log_prob(z) + _std_normal(eps)
    torch.testing.assert_close(lj, ratio, atol=1e-10, rtol=0)
    w, b, s2 = model.weight, model.bias, model.noise_var
    trace = (logvar.exp() * (w**2).sum(0)).sum(-1)
    rec = (
        -1.5 * torch.log(2 * math.pi * s2)
        - (((x - mu @ w.T - b) ** 2).sum(-1) + trace) / (2 * s2)
    )
    elbo = rec - losses.kl_normal_std_normal(mu, logvar, reduction="none")
    expected = elbo - joint.standard_normal_entropy(2)
    est, se = lj.mean(0), lj.std(0) / math.sqrt(n)
    assert bool(((est - expected).abs() < 4 * se).all()), (n, est, se, expected)


def test_errors():
    model = LinearGaussian.random(data_dim=3, latent_dim=2)
    x = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(TypeError, match="pass mu and logvar"):
        joint.log_joint_eps(model, x, torch.zeros(2, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="given together"):
        joint.log_joint_eps(model, x, torch.zeros(2, 2), mu=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="eps must have shape"):
        joint.log_joint_eps(model, x, torch.zeros(2, 3, dtype=torch.float64),
                            mu=torch.zeros(2, 2, dtype=torch.float64),
                            logvar=torch.zeros(2, 2, dtype=torch.float64))
