"""Identities the chapters state that no other test checks (issue 14, item 3).

Each is compared with an independent route (a closed form against quadrature or Monte Carlo with a
fixed seed and a tolerance from the standard error), with enough samples that the check can fail:
the tolerance is stated next to the effect it must resolve.

* chapter 6: KL is invariant under an invertible change of variables (exercise ch6-kl-invariance);
* chapter 3: the approximation gap of the best diagonal Gaussian is
  1/2 (sum_j log Lambda_jj - log det Lambda), whatever x (exercise ch3-optimal-q);
* chapter 4: Var_q[p_hat_K] = p(x)^2 chi^2(p(z|x) || q) / K (the theorem on importance sampling),
  and the bias of log p_hat_K is -chi^2 / (2K) to first order in 1/K (exercise ch4-bias);
* chapter 6: the Jacobian of (x, eps) -> (x, z) is block lower-triangular with determinant
  prod_i sigma_i (eq-ch6-triangular, section "The triangular Jacobian").
"""

from __future__ import annotations

import math

import pytest
import torch

from vae_tutorial import joint, losses, quadrature
from vae_tutorial.models import VAE, LinearGaussian


def _gauss_chi2_plus_one(m, s, mu, t):
    """Closed form of int N(z; m, s^2)^2 / N(z; mu, t^2) dz per dimension (needs 2 t^2 > s^2)."""
    # int p^2/q = t^2 / (s sqrt(2t^2 - s^2)) exp((m - mu)^2 / (2t^2 - s^2))
    return t**2 / (s * torch.sqrt(2 * t**2 - s**2)) * torch.exp((m - mu) ** 2 / (2 * t**2 - s**2))


def _posterior_1d(seed=1):
    model = LinearGaussian.random(3, 1, 0.5, seed=seed).double().requires_grad_(False)
    x, _ = model.sample(1, generator=torch.Generator().manual_seed(0))
    m, cov = model.posterior(x)
    return model, x, m[0, 0], cov[0, 0, 0].sqrt() if cov.dim() == 3 else cov[0, 0].sqrt()


@pytest.mark.parametrize("shift, scale", [(0.0, 1.5), (0.4, 1.2), (-0.3, 2.0)])
def test_importance_sampling_variance_is_the_chi_square_form(shift, scale):
    model, x, m, s = _posterior_1d()
    mu, t = m + shift * s, scale * s
    # The theorem: Var_q[w] = p(x)^2 chi^2(p(z|x) || q), with chi^2 + 1 = int p(z|x)^2 / q.
    chi2 = _gauss_chi2_plus_one(m, s, mu, t) - 1
    # Independent route 1: quadrature of E_q[w^2] = int p(x, z)^2 / q(z) dz on a fine grid.
    z = torch.linspace(float(m - 12 * s), float(m + 12 * s), 200_001, dtype=torch.float64)
    log_q = torch.distributions.Normal(mu, t).log_prob(z)
    log_joint = model.log_joint(x, z.reshape(-1, 1, 1))[:, 0]
    log_px = model.log_evidence(x)[0]
    dz = z[1] - z[0]
    e_w2_over_p2 = (torch.exp(2 * (log_joint - log_px) - log_q) * dz).sum()
    torch.testing.assert_close(e_w2_over_p2 - 1, chi2, rtol=1e-6, atol=1e-9)
    # Independent route 2: the sample variance of w / p(x) over 200,000 draws, within 5 standard
    # errors of the variance estimate (w has finite fourth moment for these proposals).
    g = torch.Generator().manual_seed(7)
    zs = mu + t * torch.randn(200_000, generator=g, dtype=torch.float64)
    w = torch.exp(model.log_joint(x, zs.reshape(-1, 1, 1))[:, 0] - log_px
                  - torch.distributions.Normal(mu, t).log_prob(zs))
    var = w.var()
    se = ((w - w.mean()) ** 2).std() / math.sqrt(len(w))
    assert abs(var - chi2) < 5 * se, (var.item(), chi2.item(), se.item())
    assert chi2 > 20 * se or shift == 0.0  # the check resolves the effect it tests


def test_bias_of_the_log_estimate_is_minus_chi_square_over_2k():
    model, x, m, s = _posterior_1d()
    mu, t = m + 0.5 * s, 1.3 * s
    chi2 = float(_gauss_chi2_plus_one(m, s, mu, t) - 1)
    log_px = model.log_evidence(x)[0]
    q = torch.distributions.Normal(mu, t)
    g = torch.Generator().manual_seed(11)
    for k, repeats in ((16, 40_000), (64, 40_000)):
        zs = mu + t * torch.randn(k, repeats, generator=g, dtype=torch.float64)
        # log w = log p(x, z) - log q(z), shape (K, repeats); log p_hat_K is the IWAE bound
        log_w = (model.log_joint(x, zs.reshape(k * repeats, 1, 1))[:, 0].reshape(k, repeats)
                 - q.log_prob(zs))
        gap = losses.iwae_bound(log_w, reduction="none") - log_px
        se = gap.std() / math.sqrt(repeats)
        predicted = -chi2 / (2 * k)
        # Second-order terms are O(chi2^2 / K^2); allow 3 standard errors plus that order.
        assert abs(gap.mean() - predicted) < 3 * se + 2 * chi2**2 / k**2, (k, gap.mean(), predicted)
        assert abs(predicted) > 4 * se, (k, predicted, se)  # the check can tell a bias from none


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_approximation_gap_of_the_best_diagonal_q_is_the_closed_form(seed):
    model = LinearGaussian.random(4, 3, 0.7, seed=seed).double().requires_grad_(False)
    x, _ = model.sample(5, generator=torch.Generator().manual_seed(seed))
    mu, logvar = model.optimal_diagonal_q(x)
    gap = model.log_evidence(x) - model.elbo(x, mu, logvar)
    # Lambda = Sigma^{-1}, the posterior precision, from the posterior covariance
    _, cov = model.posterior(x)
    cov = cov if cov.dim() == 2 else cov[0]
    lam = torch.linalg.inv(cov)
    closed = 0.5 * (torch.log(torch.diagonal(lam)).sum() - torch.logdet(lam))
    torch.testing.assert_close(gap, closed.expand_as(gap), rtol=1e-9, atol=1e-10)
    assert closed > 1e-3  # a correlated posterior: the gap is not trivially zero
    # and it is the smallest gap among diagonal Gaussians: a nudge of either parameter loses
    for d_mu, d_lv in ((0.05, 0.0), (0.0, 0.05), (0.0, -0.05)):
        worse = model.log_evidence(x) - model.elbo(x, mu + d_mu, logvar + d_lv)
        assert (worse > gap).all()


def test_kl_is_invariant_under_an_invertible_map():
    q = torch.distributions.MultivariateNormal(torch.tensor([0.3, -1.0], dtype=torch.float64),
                                               torch.tensor([[1.0, 0.4], [0.4, 0.8]],
                                                            dtype=torch.float64))
    p = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64),
                                               torch.eye(2, dtype=torch.float64))
    a = torch.tensor([[2.0, 0.5], [-0.3, 1.2]], dtype=torch.float64)
    b = torch.tensor([1.0, -2.0], dtype=torch.float64)
    # An affine map y = A z + b keeps both Gaussian: compare the closed-form KLs.
    qy = torch.distributions.MultivariateNormal(a @ q.mean + b, a @ q.covariance_matrix @ a.T)
    py = torch.distributions.MultivariateNormal(a @ p.mean + b, a @ p.covariance_matrix @ a.T)
    torch.testing.assert_close(torch.distributions.kl_divergence(qy, py),
                               torch.distributions.kl_divergence(q, p))
    # A nonlinear invertible map in 1-D, y = z + tanh(z) / 2 (dy/dz = 1 + sech^2(z) / 2 > 0):
    # KL(q_y || p_y) by quadrature in y, with each density moved to y by the change of variables,
    # against the closed-form KL of the two Gaussians in z. A wrong or missing Jacobian fails it:
    # q_y would not integrate to 1 and the weights of the KL integral would be off.
    qz = torch.distributions.Normal(torch.tensor(0.3, dtype=torch.float64),
                                    torch.tensor(0.7, dtype=torch.float64))
    pz = torch.distributions.Normal(torch.tensor(-0.5, dtype=torch.float64),
                                    torch.tensor(1.3, dtype=torch.float64))
    y, step = quadrature.make_grid(1, 28_000, lim=14.0)  # midpoints, spacing 1e-3
    y = y[:, 0]
    z = y.clone()
    for _ in range(60):  # Newton's method for z(y), from z = y
        z = z - (z + torch.tanh(z) / 2 - y) / (1 + 0.5 / torch.cosh(z) ** 2)
    torch.testing.assert_close(z + torch.tanh(z) / 2, y, rtol=0, atol=1e-12)
    # log q_y(y) = log q_z(z(y)) - log|dy/dz|
    log_jac = torch.log(1 + 0.5 / torch.cosh(z) ** 2)
    log_qy, log_py = qz.log_prob(z) - log_jac, pz.log_prob(z) - log_jac
    torch.testing.assert_close((log_qy.exp() * step).sum(),
                               torch.tensor(1.0, dtype=torch.float64), rtol=0, atol=1e-9)
    torch.testing.assert_close(quadrature.kl_quadrature_1d(log_qy, log_py, y),
                               torch.distributions.kl_divergence(qz, pz),
                               rtol=0, atol=1e-8)


def test_the_jacobian_of_x_eps_to_x_z_is_triangular_with_det_prod_sigma():
    torch.manual_seed(0)
    vae = VAE(6, 8, 3).double()
    x0 = torch.rand(6, dtype=torch.float64)
    e0 = torch.randn(3, dtype=torch.float64)

    def f(xe):
        x, eps = xe[:6], xe[6:]
        mu, logvar = vae.encode(x.unsqueeze(0))
        z = mu[0] + torch.exp(0.5 * logvar[0]) * eps
        return torch.cat([x, z])

    jac = torch.autograd.functional.jacobian(f, torch.cat([x0, e0]))
    torch.testing.assert_close(jac[:6, :6], torch.eye(6, dtype=torch.float64))
    assert torch.all(jac[:6, 6:] == 0)  # the upper-right block: x does not depend on eps
    assert jac[6:, :6].abs().max() > 1e-3  # the lower-left block is not zero: z depends on x
    _, logvar = vae.encode(x0.unsqueeze(0))
    torch.testing.assert_close(jac[6:, 6:], torch.diag(torch.exp(0.5 * logvar[0])))
    sign, logabsdet = torch.linalg.slogdet(jac)
    torch.testing.assert_close(logabsdet, joint.log_det_jacobian(logvar)[0])
    assert sign > 0
