r"""Tests of :mod:`vae_tutorial.diagnostics` against independent references.

* ``kl_per_unit`` against ``torch.distributions.kl_divergence`` per unit, and its sum against
  ``losses.kl_normal_std_normal``; ``unit_activity`` against NumPy's variance.
* ``log_aggregate_posterior`` against ``torch.distributions.MixtureSameFamily``.
* ``linear_gaussian_kl_decomposition`` against ``torch.distributions`` (the KL between two
  multivariate normals, the entropies of the Gaussian channel) and against a Monte Carlo mean
  of the average KL over the data distribution.
* ``kl_decomposition`` on samples of the linear-Gaussian model against the closed forms, within
  4 Monte Carlo standard errors plus the finite-N spread (seeded; the tolerance is printed).
Each test failed once against a planted bug (noted at each test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import (
    Categorical,
    Independent,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
    kl_divergence,
)

from vae_tutorial import diagnostics, losses
from vae_tutorial.models import LinearGaussian

F64 = torch.float64


def _codes(n: int = 50, dim: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, dim, generator=g, dtype=F64),
            0.5 * torch.randn(n, dim, generator=g, dtype=F64))


def test_kl_per_unit_against_torch_distributions():
    # planted bug: a sum over examples instead of the mean -> fails
    mu, logvar = _codes()
    q = Normal(mu, (0.5 * logvar).exp())
    want = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).mean(0)
    got = diagnostics.kl_per_unit(mu, logvar)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(got.sum(), losses.kl_normal_std_normal(mu, logvar))


def test_unit_activity_and_active_units():
    # planted bug: var over units (dim 1) instead of examples -> fails
    mu, _ = _codes()
    mu[:, 2] = 0.3 + 0.05 * mu[:, 2]  # activity about 0.0025: inactive
    want = np.var(mu.numpy(), axis=0, ddof=1)
    np.testing.assert_allclose(diagnostics.unit_activity(mu).numpy(), want, rtol=1e-12)
    assert diagnostics.active_units(mu) == 3
    assert diagnostics.active_units(mu, threshold=0.0) == 4
    assert diagnostics.active_units(mu, threshold=100.0) == 0


def test_log_aggregate_posterior_against_mixture():
    # planted bug: logsumexp without - log N -> fails
    mu, logvar = _codes(n=30, dim=3)
    mix = MixtureSameFamily(Categorical(logits=torch.zeros(30, dtype=F64)),
                            Independent(Normal(mu, (0.5 * logvar).exp()), 1))
    z = torch.randn(17, 3, generator=torch.Generator().manual_seed(1), dtype=F64)
    for chunk in (1, 5, 256):  # uneven chunks give the same answer
        torch.testing.assert_close(
            diagnostics.log_aggregate_posterior(z, mu, logvar, chunk_size=chunk), mix.log_prob(z))


def _gaussian_encoder(model: LinearGaussian, shrink: float, inflate: float, full: bool = False):
    """An encoder linear in x: the exact posterior's mean map times ``shrink`` and its
    covariance's diagonal times ``inflate`` (diagonal, a VAE-style encoder), or with
    ``full`` the exact posterior's full covariance times ``inflate``."""
    with torch.no_grad():
        _, cov = model.posterior(torch.zeros(1, model.data_dim, dtype=F64))
        a = cov @ model.weight.T / model.noise_var  # (L, D)
        weight = shrink * a
        bias = -weight @ model.bias
        s = inflate * cov if full else torch.diag(inflate * torch.diagonal(cov))
    return weight, bias, s


@pytest.mark.parametrize("shrink,inflate", [(1.0, 1.0), (0.7, 1.5), (1.2, 0.5)])
def test_linear_gaussian_closed_forms_against_torch_distributions(shrink, inflate):
    # planted bug: I = 1/2 (logdet S - logdet Sigma_bar) (sign) -> fails
    model = LinearGaussian.random(data_dim=3, latent_dim=2, noise_std=0.7, seed=2)
    px = model.evidence_distribution()
    weight, bias, s = _gaussian_encoder(model, shrink, inflate, full=True)
    with torch.no_grad():
        d = diagnostics.linear_gaussian_kl_decomposition(weight, bias, s, px.mean,
                                                         px.covariance_matrix)
        agg = MultivariateNormal(weight @ px.mean + bias,
                                 weight @ px.covariance_matrix @ weight.T + s)
        prior = MultivariateNormal(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64))
        marginal = float(kl_divergence(agg, prior))
        # I(x; z) = H(z) - H(z | x) for the Gaussian channel
        information = float(agg.entropy() - MultivariateNormal(torch.zeros(2, dtype=F64),
                                                               s).entropy())
        # E_x KL(q(z|x) || p(z)) by Monte Carlo over x: 20,000 draws
        x = px.sample((20_000,))
        q = MultivariateNormal(x @ weight.T + bias, s)
        kls = kl_divergence(q, prior)
    assert d.marginal_kl == pytest.approx(marginal, abs=1e-10)
    assert d.mutual_information == pytest.approx(information, abs=1e-10)
    se = float(kls.std()) / math.sqrt(len(kls))
    assert abs(d.average_kl - float(kls.mean())) < 4 * se, (d.average_kl, float(kls.mean()), se)
    assert d.average_kl == pytest.approx(d.mutual_information + d.marginal_kl, abs=1e-10)
    if shrink == 1.0 and inflate == 1.0:  # the exact posterior: q(z) = p(z)
        assert abs(d.marginal_kl) < 1e-10
        with torch.no_grad():
            eye = torch.eye(2, dtype=F64)
            want = 0.5 * torch.logdet(eye + model.weight.T @ model.weight / model.noise_var)
        assert d.mutual_information == pytest.approx(float(want), abs=1e-10)


@pytest.mark.parametrize("shrink,inflate", [(1.0, 1.0), (0.7, 1.5)])
def test_kl_decomposition_on_linear_gaussian_data(shrink, inflate):
    # planted bug: z drawn with exp(logvar) as the standard deviation -> fails
    model = LinearGaussian.random(data_dim=3, latent_dim=2, noise_std=0.7, seed=2)
    px = model.evidence_distribution()
    weight, bias, s = _gaussian_encoder(model, shrink, inflate)
    with torch.no_grad():
        exact = diagnostics.linear_gaussian_kl_decomposition(weight, bias, s, px.mean,
                                                             px.covariance_matrix)
        n = 4000
        x = px.sample((n,))
        mu = x @ weight.T + bias
        logvar = torch.log(torch.diagonal(s)).expand(n, 2)
    est = diagnostics.kl_decomposition(mu, logvar, n_samples=20_000, seed=0)
    # the data are a sample of N: their average KL spreads around the exact one
    kls = losses.kl_normal_std_normal(mu, logvar, reduction="none")
    finite_n = float(kls.std()) / math.sqrt(n)
    assert abs(est.average_kl - exact.average_kl) < 4 * finite_n
    for name in ("mutual_information", "marginal_kl"):
        got, want = getattr(est, name), getattr(exact, name)
        tol = 4 * (getattr(est, name + "_se") + finite_n) + 0.01  # 0.01: the 1/N mixture bias
        assert abs(got - want) < tol, (name, n, got, getattr(est, name + "_se"), want, tol)
    total_se = est.mutual_information_se + est.marginal_kl_se
    assert abs(est.mutual_information + est.marginal_kl - est.average_kl) < 4 * total_se
    assert 0 <= est.mutual_information <= est.log_n + 4 * est.mutual_information_se


def test_kl_decomposition_separated_codes_reach_log_n():
    # N far-apart narrow posteriors: the code identifies the example, I = log N
    mu = torch.tensor([[-6.0], [0.0], [6.0]], dtype=F64)
    est = diagnostics.kl_decomposition(mu, torch.full((3, 1), -6.0, dtype=F64), n_samples=500)
    assert est.mutual_information == pytest.approx(math.log(3), abs=1e-6)


def test_bad_inputs_name_the_argument():
    mu, logvar = _codes()
    with pytest.raises(ValueError, match=r"logvar must have the shape of mu"):
        diagnostics.kl_per_unit(mu, logvar[:, :2])
    with pytest.raises(ValueError, match=r"mu must hold at least 2 examples"):
        diagnostics.unit_activity(mu[:1])
    with pytest.raises(ValueError, match=r"mu must have shape \(N, L\)"):
        diagnostics.unit_activity(mu[None])
    with pytest.raises(TypeError, match=r"mu must be"):
        diagnostics.unit_activity(mu.numpy())
    with pytest.raises(ValueError, match=r"threshold must be >= 0"):
        diagnostics.active_units(mu, threshold=-1.0)
    with pytest.raises(ValueError, match=r"z must have shape \(K, 4\)"):
        diagnostics.log_aggregate_posterior(torch.zeros(3, 2, dtype=F64), mu, logvar)
    with pytest.raises(ValueError, match=r"n_samples must be >= 2"):
        diagnostics.kl_decomposition(mu, logvar, n_samples=1)
    with pytest.raises(TypeError, match=r"seed must be an int"):
        diagnostics.kl_decomposition(mu, logvar, seed=0.5)
    eye = torch.eye(2, dtype=F64)
    with pytest.raises(ValueError, match=r"weight must be \(L, D\)"):
        diagnostics.linear_gaussian_kl_decomposition(eye, torch.zeros(3, dtype=F64), eye,
                                                     torch.zeros(2, dtype=F64), eye)
    with pytest.raises(ValueError, match=r"cov must be symmetric positive definite"):
        diagnostics.linear_gaussian_kl_decomposition(eye, torch.zeros(2, dtype=F64), -eye,
                                                     torch.zeros(2, dtype=F64), eye)
