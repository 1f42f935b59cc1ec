"""Tests of :mod:`vae_tutorial.inference` against independent references: the exact
linear-Gaussian evidence and posterior, ``torch.distributions`` (entropies, KLs, log densities of
samples), closed forms, and Monte Carlo means within 4 standard errors at a fixed seed (a
false-failure rate of about 6e-5 per compared value for a fresh seed).
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from vae_tutorial import inference as inf
from vae_tutorial import losses
from vae_tutorial.models import GaussianMixture, LinearGaussian

F64 = torch.float64


def within_4se(estimate, se, exact, what):  # noqa: ANN001
    ok = ((estimate - exact).abs() <= 4 * se).all()
    assert ok, f"{what}: estimate {estimate} exact {exact} standard error {se}"


@pytest.fixture
def model() -> LinearGaussian:
    return LinearGaussian.random(data_dim=4, latent_dim=2, noise_std=0.6, seed=3).requires_grad_(
        False
    )


@pytest.fixture
def data(model, generator):
    x, _ = model.sample(5, generator=generator)
    mu = torch.randn(5, 2, dtype=F64, generator=generator)
    logvar = 0.5 * torch.randn(5, 2, dtype=F64, generator=generator) - 1.0
    return x, mu, logvar


def q_dist(mu, logvar):  # noqa: ANN001, ANN201
    return MultivariateNormal(mu, covariance_matrix=torch.diag_embed(logvar.exp()))


# ---------------------------------------------------------------------------- chapter 1: grids


def test_make_grid_shape_and_volume():
    pts, vol = inf.make_grid(3, 4, lim=2.0)
    assert pts.shape == (64, 3)
    assert math.isclose(vol, 1.0)
    assert float(pts.min()) == -1.5 and float(pts.max()) == 1.5


@pytest.mark.parametrize("latent_dim, n", [(1, 2000), (2, 300)])
def test_grid_log_evidence_matches_exact(latent_dim, n, generator):
    m = LinearGaussian.random(3, latent_dim, 0.5, seed=1).requires_grad_(False)
    x, _ = m.sample(4, generator=generator)
    torch.testing.assert_close(
        inf.grid_log_evidence(m, x, n_per_dim=n), m.log_evidence(x), rtol=0, atol=1e-8
    )


def test_grid_posterior_moments_match_exact(model, data):
    x = data[0]
    pts, vol = inf.make_grid(2, 300, lim=6.0)
    dens, log_ev = inf.grid_posterior(model, x, pts, vol)
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
    est = inf.prior_mc_log_evidence(model, x, 1000, eps=eps, chunk_size=300)
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
    est = inf.prior_mc_log_evidence(m, x, k, eps=eps).exp()
    lik = (m.log_joint(x, eps.unsqueeze(1)) - losses.log_standard_normal(eps).unsqueeze(1)).exp()
    se = lik.std(0) / math.sqrt(k)
    within_4se(est, se, m.log_evidence(x).exp(), "naive MC p(x)")


def test_evidence_cost_study_rows():
    rows = inf.evidence_cost_study([1, 3], budget=4096, data_dim=6, n_points=2)
    assert [r["latent_dim"] for r in rows] == [1, 3]
    assert rows[0]["grid_per_dim"] == 4096 and rows[1]["grid_per_dim"] == 16
    assert rows[0]["grid_error"] < 1e-8
    assert rows[1]["grid_error"] > rows[0]["grid_error"]
    with pytest.raises(ValueError, match="latent_dims must be a non-empty"):
        inf.evidence_cost_study([])


# ------------------------------------------------------------------------ chapter 2: entropy, KL


@pytest.mark.parametrize("shape", [(3,), (4, 3), (2, 5, 3)])
def test_entropy_matches_torch_distributions(shape, generator):
    logvar = torch.randn(shape, dtype=F64, generator=generator)
    ref = Normal(torch.zeros(shape, dtype=F64), (0.5 * logvar).exp()).entropy().sum(-1)
    torch.testing.assert_close(inf.entropy_normal_diag(logvar), ref)
    torch.testing.assert_close(inf.entropy_normal_diag(logvar, reduction="mean"), ref.mean())


def test_kl_normal_mc_within_4_se_of_torch_distributions(generator):
    mu_q, lv_q = (
        torch.randn(4, 3, dtype=F64, generator=generator),
        torch.randn(4, 3, dtype=F64, generator=generator),
    )
    mu_p, lv_p = (
        torch.randn(4, 3, dtype=F64, generator=generator),
        torch.randn(4, 3, dtype=F64, generator=generator),
    )
    est = inf.kl_normal_mc(mu_q, lv_q, mu_p, lv_p, 20_000, generator=generator)
    exact = kl_divergence(Normal(mu_q, (0.5 * lv_q).exp()), Normal(mu_p, (0.5 * lv_p).exp())).sum(
        -1
    )
    assert est.n_samples == 20_000 and est.estimate.shape == (4,)
    within_4se(est.estimate, est.standard_error, exact, "MC KL")


def test_kl_monte_carlo_standard_error_formula(generator):
    log_q = torch.randn(50, 2, dtype=F64, generator=generator)
    log_p = torch.randn(50, 2, dtype=F64, generator=generator)
    est = inf.kl_monte_carlo(log_q, log_p)
    torch.testing.assert_close(est.estimate, (log_q - log_p).mean(0))
    torch.testing.assert_close(est.standard_error, (log_q - log_p).std(0) / math.sqrt(50))
    with pytest.raises(ValueError, match="K >= 2"):
        inf.kl_monte_carlo(log_q[:1], log_p[:1])
    with pytest.raises(ValueError, match="log_p must have the shape of log_q"):
        inf.kl_monte_carlo(log_q, log_p[:, :1])


def test_kl_quadrature_matches_closed_form():
    grid = torch.linspace(-20, 20, 20001, dtype=F64)
    lq = Normal(torch.tensor(0.5, dtype=F64), torch.tensor(0.7, dtype=F64)).log_prob(grid)
    lp = Normal(torch.tensor(-1.0, dtype=F64), torch.tensor(1.3, dtype=F64)).log_prob(grid)
    exact = kl_divergence(Normal(0.5, 0.7), Normal(-1.0, 1.3))
    assert abs(float(inf.kl_quadrature_1d(lq, lp, grid)) - float(exact)) < 1e-6


def test_fit_gaussian_1d_forward_matches_mixture_moments_and_reverse_seeks_a_mode():
    gm = GaussianMixture(
        torch.tensor([0.4, 0.6], dtype=F64),
        torch.tensor([[-3.0], [3.0]], dtype=F64),
        torch.tensor([[[1.0]], [[0.5]]], dtype=F64),
    )
    grid = torch.linspace(-12, 12, 801, dtype=F64)
    log_p = gm.log_evidence(grid[:, None])
    mu_f, lv_f = inf.fit_gaussian_1d(log_p, grid, direction="forward")
    mean = 0.4 * -3 + 0.6 * 3
    var = 0.4 * (1 + 9) + 0.6 * (0.5 + 9) - mean**2
    assert abs(mu_f - mean) < 1e-6 and abs(math.exp(lv_f) - var) < 1e-5
    mu_r, lv_r = inf.fit_gaussian_1d(
        log_p, grid, direction="reverse", init=(1.0, 0.0), steps=300, lr=0.1
    )
    assert abs(mu_r - 3.0) < 0.05 and abs(math.exp(lv_r) - 0.5) < 0.05
    # on a Gaussian target both directions recover it
    lp_gauss = Normal(torch.tensor(1.0, dtype=F64), torch.tensor(2.0, dtype=F64)).log_prob(grid)
    mu_g, lv_g = inf.fit_gaussian_1d(lp_gauss, grid, steps=300, lr=0.1)
    assert abs(mu_g - 1.0) < 0.02 and abs(lv_g - math.log(4.0)) < 0.02
    with pytest.raises(ValueError, match="direction must be"):
        inf.fit_gaussian_1d(log_p, grid, direction="sideways")


# ---------------------------------------------------------------- chapter 3: ELBO on the LG model


def test_expected_log_terms_within_4_se_of_monte_carlo(model, data, generator):
    x, mu, logvar = data
    k = 50_000
    z = q_dist(mu, logvar).sample((k,))  # torch.distributions, independent of reparameterize
    lik = MultivariateNormal(
        z @ model.weight.T + model.bias, covariance_matrix=model.noise_var * torch.eye(4, dtype=F64)
    ).log_prob(x)
    prior = MultivariateNormal(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64)).log_prob(z)
    for name, vals, exact in (
        ("E log p(x|z)", lik, inf.expected_log_likelihood(model, x, mu, logvar)),
        ("E log p(x,z)", lik + prior, inf.expected_log_joint(model, x, mu, logvar)),
    ):
        within_4se(vals.mean(0), vals.std(0) / math.sqrt(k), exact, name)


def test_two_elbo_forms_agree_and_identity_holds(model, data):
    x, mu, logvar = data
    a = inf.linear_gaussian_elbo(model, x, mu, logvar, form="joint_entropy")
    b = inf.linear_gaussian_elbo(model, x, mu, logvar, form="recon_kl")
    torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    # independent KL(q || p(z|x)) from torch.distributions with the exact posterior
    m, cov = model.posterior(x)
    kl_ref = kl_divergence(q_dist(mu, logvar), MultivariateNormal(m, covariance_matrix=cov))
    torch.testing.assert_close(
        inf.kl_to_posterior(model, x, mu, logvar), kl_ref, rtol=0, atol=1e-10
    )
    # log p(x) = ELBO + KL(q || p(z|x))
    torch.testing.assert_close(model.log_evidence(x), b + kl_ref, rtol=0, atol=1e-10)


def test_monte_carlo_elbo_forms_are_unbiased(model, data, generator):
    x, mu, logvar = data
    exact = inf.linear_gaussian_elbo(model, x, mu, logvar)
    k = 20_000
    eps = torch.randn(k, *mu.shape, dtype=F64, generator=generator)
    z = mu + (0.5 * logvar).exp() * eps
    per_sample = {
        "joint_entropy": model.log_joint(x, z) - losses.log_normal_diag(z, mu, logvar),
        "recon_kl": model.log_likelihood(x, z)
        - losses.kl_normal_std_normal(mu, logvar, reduction="none"),
    }
    for form, vals in per_sample.items():
        est = inf.linear_gaussian_elbo(model, x, mu, logvar, form=form, eps=eps)
        torch.testing.assert_close(est, vals.mean(0))
        within_4se(est, vals.std(0) / math.sqrt(k), exact, form)


@settings(max_examples=30, deadline=None)
@given(
    mu=st.lists(st.floats(-4, 4), min_size=2, max_size=2),
    logvar=st.lists(st.floats(-6, 3), min_size=2, max_size=2),
)
def test_elbo_never_exceeds_log_evidence(mu, logvar):
    m = LinearGaussian.random(4, 2, 0.6, seed=3).requires_grad_(False)
    x = torch.tensor([[0.3, -1.0, 2.0, 0.5]], dtype=F64)
    mu_t, lv_t = torch.tensor([mu], dtype=F64), torch.tensor([logvar], dtype=F64)
    assert float(inf.linear_gaussian_elbo(m, x, mu_t, lv_t)) <= float(m.log_evidence(x)) + 1e-12
    assert float(inf.kl_to_posterior(m, x, mu_t, lv_t)) >= -1e-12


def test_elbo_gradcheck(model, data):
    x, mu, logvar = data
    mu, logvar = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    for form in ("recon_kl", "joint_entropy"):
        assert torch.autograd.gradcheck(
            lambda m_, l_, f=form: inf.linear_gaussian_elbo(model, x, m_, l_, form=f), (mu, logvar)
        )


def test_optimal_diagonal_q_is_stationary_and_exact_for_orthogonal_w(model, data):
    x = data[0]
    mu, logvar = inf.optimal_diagonal_q(model, x)
    mu, logvar = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    inf.linear_gaussian_elbo(model, x, mu, logvar, reduction="sum").backward()
    assert mu.grad.abs().max() < 1e-10 and logvar.grad.abs().max() < 1e-10
    w = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=F64)  # orthogonal columns
    m2 = LinearGaussian(w, torch.zeros(3, dtype=F64), 0.5).requires_grad_(False)
    x2 = torch.tensor([[1.0, -1.0, 0.3]], dtype=F64)
    assert float(inf.kl_to_posterior(m2, x2, *inf.optimal_diagonal_q(m2, x2))) < 1e-12


def test_fits_approach_the_optimum_and_leave_theta_alone(model, generator):
    x, _ = model.sample(8, generator=generator)
    before = [p.clone() for p in model.parameters()]
    best = float(
        inf.linear_gaussian_elbo(model, x, *inf.optimal_diagonal_q(model, x), reduction="mean")
    )
    svi = inf.fit_per_datapoint(model, x, steps=200, lr=0.1, n_samples=16, generator=generator)
    amo = inf.fit_amortized(model, x, steps=300, lr=0.1, n_samples=16, generator=generator)
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
    hist = inf.variational_em(start, x, n_iters=10, m_steps=10, lr=0.05)
    assert len(hist["elbo"]) == 11
    assert hist["elbo"][-1] > hist["elbo"][0] + 1.0
    assert all(e <= ev + 1e-10 for e, ev in zip(hist["elbo"], hist["log_evidence"], strict=True))


def test_errors_name_the_argument(model, data):
    x, mu, logvar = data
    with pytest.raises(TypeError, match="model must be a models.LinearGaussian"):
        inf.linear_gaussian_elbo(object(), x, mu, logvar)
    with pytest.raises(ValueError, match="form must be"):
        inf.linear_gaussian_elbo(model, x, mu, logvar, form="other")
    with pytest.raises(ValueError, match="mu must have last dim L=2"):
        inf.kl_to_posterior(model, x, mu[:, :1], logvar[:, :1])
    with pytest.raises(ValueError, match="logvar must have the shape of mu"):
        inf.expected_log_likelihood(model, x, mu, logvar[:, :1])
    with pytest.raises(ValueError, match="mu must have the batch shape of x"):
        inf.expected_log_joint(model, x, mu[:3], logvar[:3])
    with pytest.raises(ValueError, match="eps must have shape"):
        inf.prior_mc_log_evidence(model, x, 10, eps=torch.zeros(5, 2, dtype=F64))
    with pytest.raises(ValueError, match="lim must be > 0"):
        inf.make_grid(1, 10, lim=-1.0)
    with pytest.raises(TypeError, match="n_per_dim must be an int"):
        inf.make_grid(1, 2.5)


def test_kl_decomposition_of_chapter_2(model, data):
    # KL(q || p(z|x)) = E_q[log q] - E_q[log p(x, z)] + log p(x), with E_q[log q] = -H(q)
    x, mu, logvar = data
    m, cov = model.posterior(x)
    lhs = kl_divergence(q_dist(mu, logvar), MultivariateNormal(m, covariance_matrix=cov))
    rhs = (
        -inf.entropy_normal_diag(logvar)
        - inf.expected_log_joint(model, x, mu, logvar)
        + model.log_evidence(x)
    )
    torch.testing.assert_close(rhs, lhs, rtol=0, atol=1e-10)


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
