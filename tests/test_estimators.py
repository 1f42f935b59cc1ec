"""Tests for vae_tutorial.estimators against the exact linear-Gaussian evidence.

Monte Carlo checks use fixed seeds and a 4-standard-error tolerance (false-failure rate about
6e-5 per check for a Gaussian estimate; the seeds are fixed, so the tests are deterministic).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vae_tutorial import estimators, losses
from vae_tutorial.models import VAE, LinearGaussian


@pytest.fixture
def lg() -> tuple[LinearGaussian, torch.Tensor]:
    model = LinearGaussian.random(data_dim=3, latent_dim=2, noise_std=0.7, seed=0)
    with torch.no_grad():
        x, _ = model.sample(4, generator=torch.Generator().manual_seed(1))
    return model, x


@pytest.fixture
def vae() -> tuple[VAE, torch.Tensor]:
    torch.manual_seed(0)
    model = VAE(data_dim=16, hidden_dim=8, latent_dim=3)
    x = torch.bernoulli(torch.full((5, 16), 0.3), generator=torch.Generator().manual_seed(2))
    return model, x


def _within_4_se(est: estimators.MonteCarloEstimate, exact: torch.Tensor) -> None:
    p_hat, se, p = est.evidence, est.log_standard_error.exp(), exact.exp()
    z = ((p_hat - p) / se).abs()
    assert bool((z < 4).all()), (
        f"n={est.log_weights.shape[0]}: estimate {p_hat.tolist()}, se {se.tolist()}, "
        f"exact {p.tolist()}"
    )


@torch.no_grad()
def test_naive_monte_carlo_unbiased_within_4_se(lg):
    model, x = lg
    est = estimators.naive_monte_carlo(model, x, 20000, generator=torch.Generator().manual_seed(3))
    assert est.log_weights.shape == (20000, 4)
    _within_4_se(est, model.log_evidence(x))


@torch.no_grad()
def test_importance_sampling_unbiased_within_4_se(lg):
    model, x = lg
    mean, cov = model.posterior(x)
    # a deliberately imperfect proposal: the posterior mean shifted, the variance inflated
    mu, logvar = mean + 0.3, (2.0 * cov.diagonal()).log().expand_as(mean)
    est = estimators.importance_sampling(
        model, x, mu, logvar, 5000, generator=torch.Generator().manual_seed(4)
    )
    _within_4_se(est, model.log_evidence(x))


@torch.no_grad()
def test_exact_posterior_proposal_has_zero_variance():
    # with orthogonal columns of W the posterior covariance is diagonal, so q = p(z|x) exactly
    w = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    model = LinearGaussian(w, torch.zeros(3, dtype=torch.float64), 0.5)
    x = torch.tensor([[1.0, -0.5, 0.2]], dtype=torch.float64)
    mean, cov = model.posterior(x)
    est = estimators.importance_sampling(model, x, mean, cov.diagonal().log().unsqueeze(0), 50)
    torch.testing.assert_close(est.log_weights, model.log_evidence(x).expand(50, 1))
    torch.testing.assert_close(est.ess, torch.tensor([50.0], dtype=torch.float64))


def test_log_mean_exp_and_ess_against_direct_formulas():
    lw = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    w = lw.exp()
    torch.testing.assert_close(estimators.log_mean_exp(lw), w.mean(0).log())
    torch.testing.assert_close(estimators.effective_sample_size(lw), w.sum(0) ** 2 / (w**2).sum(0))
    torch.testing.assert_close(estimators.log_standard_error(lw), (w.std(0) / math.sqrt(7)).log())
    # no underflow far in the tail, where exp(lw) is 0 in float64
    far = lw - 2000.0
    torch.testing.assert_close(estimators.log_mean_exp(far), w.mean(0).log() - 2000.0)
    torch.testing.assert_close(estimators.effective_sample_size(far), w.sum(0) ** 2 / (w**2).sum(0))


def test_ess_extremes():
    equal = torch.zeros(10, 2)
    torch.testing.assert_close(estimators.effective_sample_size(equal), torch.full((2,), 10.0))
    one = torch.tensor([0.0] + [-1e4] * 9).unsqueeze(1)
    torch.testing.assert_close(estimators.effective_sample_size(one), torch.ones(1))


@torch.no_grad()
def test_iwae_bound_monotone_in_k_and_reaches_log_evidence(lg):
    """E[L_K] rises with K, equals the ELBO at K = 1 and approaches log p(x).

    Burda et al., theorem 1.
    """
    model, x = lg
    mean, cov = model.posterior(x)
    mu, logvar = mean + 0.2, (1.5 * cov.diagonal()).log().expand_as(mean)
    g = torch.Generator().manual_seed(5)
    exact = model.log_evidence(x)
    means = []
    for k in (1, 4, 16, 256):
        reps = max(64_000 // k, 500)  # independent bounds to average
        lw = estimators.importance_sampling(
            model,
            x.expand(reps, *x.shape),
            mu.expand(reps, *mu.shape),
            logvar.expand(reps, *logvar.shape),
            k,
            generator=g,
        ).log_weights  # (K, R, B)
        bound = losses.iwae_bound(lw, reduction="none")  # (R, B)
        means.append((bound.mean(0), bound.std(0) / math.sqrt(reps)))
        if k == 1:
            # L_1 is the single-sample ELBO estimate: same numbers as elbo_mc
            torch.testing.assert_close(bound, losses.elbo_mc(lw, reduction="none"))
    for (m1, s1), (m2, s2) in zip(means, means[1:], strict=False):
        assert bool((m2 > m1 - 4 * torch.sqrt(s1**2 + s2**2)).all()), (m1, m2)
    assert bool((means[-1][0] <= exact + 4 * means[-1][1]).all())
    assert bool((means[0][0] < exact - 0.05).all())  # a visible gap at K = 1
    assert bool(((exact - means[-1][0]) < 0.02).all()), (exact, means[-1][0])


@torch.no_grad()
def test_iwae_k1_expectation_is_analytic_elbo(lg):
    """At K = 1 the bound's expectation is the ELBO, in closed form on the linear-Gaussian model."""
    model, x = lg
    mu = torch.zeros(4, 2, dtype=torch.float64) + 0.2
    logvar = torch.full((4, 2), -0.5, dtype=torch.float64)
    w, b, s2 = model.weight, model.bias, model.noise_var
    resid = x - mu @ w.T - b
    # E_q[log p(x|z)] = -D/2 log(2 pi s2) - (|x - W mu - b|^2 + tr(W diag(v) W^T)) / (2 s2)
    trace = (logvar.exp() * (w**2).sum(0)).sum(-1)  # tr(W diag(v) W^T)
    rec = -0.5 * 3 * torch.log(2 * math.pi * s2) - ((resid**2).sum(-1) + trace) / (2 * s2)
    elbo = rec - losses.kl_normal_std_normal(mu, logvar, reduction="none")
    n = 40000
    lw = estimators.importance_sampling(
        model, x, mu, logvar, n, generator=torch.Generator().manual_seed(6)
    ).log_weights
    est, se = lw.mean(0), lw.std(0) / math.sqrt(n)
    assert bool(((est - elbo).abs() < 4 * se).all()), (n, est, se, elbo)


def test_log_likelihood_same_for_any_chunk_size(vae):
    model, x = vae
    k = 50
    ref = estimators.log_likelihood(model, x, k, chunk_size=k, seed=7)
    for chunk in (1, 7, k, 1000):
        torch.testing.assert_close(
            estimators.log_likelihood(model, x, k, chunk_size=chunk, seed=7), ref
        )
    assert ref.shape == (5,)
    # a different seed gives different noise
    assert not torch.equal(estimators.log_likelihood(model, x, k, chunk_size=k, seed=8), ref)


def test_log_likelihood_matches_vae_log_weights_and_iwae_bound(vae):
    """Same noise stream as VAE.log_weights at k = 1; the IWAE bound of those weights at any k."""
    model, x = vae
    with torch.no_grad():
        lw = model.log_weights(x, 1, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(
        estimators.log_likelihood(model, x, 1, seed=9), losses.iwae_bound(lw, reduction="none")
    )


def test_log_likelihood_is_log_p_not_negative_and_above_elbo(vae):
    model, x = vae
    ll = estimators.log_likelihood(model, x, 2000, chunk_size=500, seed=0)
    assert bool((ll < 0).all())  # a log-probability of binary data, not its negative
    with torch.no_grad():
        lw = model.log_weights(x, 2000, generator=torch.Generator().manual_seed(1))
        elbo = losses.elbo_mc(lw, reduction="none")
    assert bool((ll > elbo).all()), (ll, elbo)


def test_log_likelihood_memory_bounded_by_chunk_size(vae, monkeypatch):
    model, x = vae
    seen = []
    decode = model.decode

    def spy(z):
        seen.append(z.shape[0])
        return decode(z)

    monkeypatch.setattr(model, "decode", spy)
    estimators.log_likelihood(model, x, 10_000, chunk_size=64, seed=0)
    assert max(seen) <= 64 and sum(seen) == 10_000


def test_log_likelihood_keeps_training_mode_and_device(vae):
    model, x = vae
    model.train()
    out = estimators.log_likelihood(model, x, 10, seed=0)
    assert model.training and out.device == next(model.parameters()).device
    assert not out.requires_grad


def test_errors_name_the_argument(vae, lg):
    model, x = vae
    with pytest.raises(ValueError, match="k must be >= 1"):
        estimators.log_likelihood(model, x, 0)
    with pytest.raises(TypeError, match="chunk_size must be an int"):
        estimators.log_likelihood(model, x, 10, chunk_size=2.5)
    with pytest.raises(ValueError, match=r"x must have shape \(B, 16\)"):
        estimators.log_likelihood(model, x[:, :5])
    with pytest.raises(TypeError, match="model must have encode"):
        estimators.log_likelihood(torch.nn.Linear(2, 2), x)
    lgm, xl = lg
    with pytest.raises(ValueError, match="eps must have shape"):
        estimators.naive_monte_carlo(lgm, xl, 3, eps=torch.zeros(2, 4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="at least 2 samples"):
        estimators.log_standard_error(torch.zeros(1, 3))


# --------------------------------------------------------------------------------------------
# Issue 11: log_likelihood at k > 1 against independently computed weights, its input range,
# naive Monte Carlo on a VAE, the weight statistics along other dims and at small K.
# --------------------------------------------------------------------------------------------

F64 = torch.float64


@torch.no_grad()
def _independent_log_weights(model: VAE, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """log p(x|z) + log p(z) - log q(z|x) from torch.distributions, z = mu + sigma * eps."""
    mu, logvar = model.encode(x)
    std = (0.5 * logvar).exp()
    z = mu + std * eps  # (K, B, L)
    # grey targets: the Bernoulli log-density x log p + (1 - x) log(1 - p), unchecked
    bernoulli = torch.distributions.Bernoulli(logits=model.decode(z), validate_args=False)
    log_px_z = bernoulli.log_prob(x).sum(-1)
    log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    log_qz = torch.distributions.Normal(mu, std).log_prob(z).sum(-1)
    return log_px_z + log_pz - log_qz  # (K, B)


@pytest.mark.parametrize(("k", "chunk_size", "seed"), [(2, 1, 0), (40, 7, 1), (1000, 128, 2)])
@pytest.mark.parametrize("grey", [False, True])
def test_log_likelihood_is_the_log_mean_exp_of_independent_weights(vae, k, chunk_size, seed, grey):
    """At k > 1: log((1/k) sum_j w_j) of weights computed here from torch.distributions, with the
    noise the docstring promises (one (B, L) standard normal draw per sample, in order, from a
    generator seeded with ``seed``), averaged in NumPy; off by log k = 6.9 at k = 1000 if the
    - log k is lost. Grey targets in [0, 1] are valid Bernoulli targets."""
    model, x = vae
    model = model.double()
    x = x.double()
    if grey:
        x = torch.rand(x.shape, generator=torch.Generator().manual_seed(11), dtype=F64)
    g = torch.Generator().manual_seed(seed)
    eps = torch.stack([torch.randn(5, 3, generator=g, dtype=F64) for _ in range(k)])
    lw = _independent_log_weights(model, x, eps).numpy()  # (k, B)
    top = lw.max(0)
    expected = top + np.log(np.exp(lw - top).mean(0))  # log-mean-exp, by hand
    got = estimators.log_likelihood(model, x, k, chunk_size=chunk_size, seed=seed)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("value", [2.0, -0.1, 1.0 + 1e-6])
def test_log_likelihood_rejects_targets_outside_0_1(vae, value):
    model, x = vae
    bad = x.clone()
    bad[1, 3] = value
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        estimators.log_likelihood(model, bad, 10)
    # the edges themselves are valid
    estimators.log_likelihood(model, x.clamp(0, 1), 10)


@torch.no_grad()
def test_naive_monte_carlo_on_a_vae(vae):
    """The prior as proposal on a VAE: with given eps the log weights are log p(x | z = eps)
    (torch.distributions); with 40,000 draws p_hat(x) agrees with the encoder-proposal
    estimate within 4 combined standard errors."""
    model, x = vae
    model = model.double()
    x = x.double()
    eps = torch.randn(6, 5, 3, generator=torch.Generator().manual_seed(12), dtype=F64)
    est = estimators.naive_monte_carlo(model, x, 6, eps=eps)
    ref = torch.distributions.Bernoulli(logits=model.decode(eps)).log_prob(x).sum(-1)
    torch.testing.assert_close(est.log_weights, ref, rtol=1e-12, atol=1e-12)
    n = 40_000
    naive = estimators.naive_monte_carlo(model, x, n, generator=torch.Generator().manual_seed(13))
    mu, logvar = model.encode(x)
    proposal = estimators.importance_sampling(
        model, x, mu, logvar, n, generator=torch.Generator().manual_seed(14)
    )
    diff = naive.evidence - proposal.evidence
    se = (naive.log_standard_error.exp() ** 2 + proposal.log_standard_error.exp() ** 2).sqrt()
    assert bool((diff.abs() < 4 * se).all()), (
        f"n={n}: naive {naive.evidence.tolist()}, encoder {proposal.evidence.tolist()}, "
        f"se {se.tolist()}"
    )


@pytest.mark.parametrize("dim", [1, 2, -1, -2])
def test_weight_statistics_along_other_dims(dim):
    """Shape (3, 5, 4): each sample size differs, so log K must come from ``dim`` itself."""
    lw = torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(15), dtype=F64)
    w = lw.exp()
    k = lw.shape[dim]
    torch.testing.assert_close(estimators.log_mean_exp(lw, dim=dim), w.mean(dim).log())
    torch.testing.assert_close(
        estimators.effective_sample_size(lw, dim=dim), w.sum(dim) ** 2 / (w**2).sum(dim)
    )
    # se = sqrt(sum_k (w_k - w_bar)^2 / (K - 1)) / sqrt(K)
    centred = w - w.mean(dim, keepdim=True)
    se = ((centred**2).sum(dim) / (k - 1)).sqrt() / math.sqrt(k)
    torch.testing.assert_close(estimators.log_standard_error(lw, dim=dim), se.log())
    # far in the tail, where exp(lw) is 0 in float64
    torch.testing.assert_close(
        estimators.log_standard_error(lw - 2000.0, dim=dim), se.log() - 2000.0
    )


@pytest.mark.parametrize("k", [2, 3])
def test_standard_error_at_small_k(k):
    """K = 2: weights 1 and 3 give se = |3 - 1| / 2 = 1. And se^2 is unbiased for Var(w_bar) =
    Var(w) / K at K = 2 and 3: over 200,000 independent sets of uniform weights (Var(w) = 1/12)
    the mean of se^2 is within 4 standard errors of 1 / (12 K) (a biased variance, K in place of
    K - 1, is 2/3 or 1/2 of it: ~100 standard errors off)."""
    torch.testing.assert_close(
        estimators.log_standard_error(torch.tensor([[1.0], [3.0]], dtype=F64).log()),
        torch.zeros(1, dtype=F64),
    )
    m = 200_000
    u = torch.rand(k, m, generator=torch.Generator().manual_seed(16 + k), dtype=F64)
    se2 = (2 * estimators.log_standard_error(u.log())).exp()  # (m,)
    exact = 1.0 / (12 * k)
    err = se2.std() / math.sqrt(m)
    assert abs(float(se2.mean()) - exact) < 4 * float(err), (
        f"n={m}: mean se^2 {float(se2.mean())}, standard error {float(err)}, exact {exact}"
    )
    # an evidence estimate carries it from K = 2 on, nan at K = 1
    lg_model = LinearGaussian.random(data_dim=3, latent_dim=2, noise_std=0.7, seed=0)
    x = torch.zeros(4, 3, dtype=F64)
    eps = torch.randn(k, 4, 2, generator=torch.Generator().manual_seed(17), dtype=F64)
    with torch.no_grad():
        est = estimators.naive_monte_carlo(lg_model, x, k, eps=eps)
        one = estimators.naive_monte_carlo(lg_model, x, 1, eps=eps[:1])
    torch.testing.assert_close(
        est.log_standard_error, estimators.log_standard_error(est.log_weights)
    )
    assert bool(torch.isfinite(est.log_standard_error).all())
    assert bool(torch.isnan(one.log_standard_error).all())


# --------------------------------------------------------------------------------------------
# Issue 16: log_likelihood decodes several images x samples per call, at most max_rows rows.
# --------------------------------------------------------------------------------------------


def _spy_rows(model: VAE, monkeypatch) -> list[int]:
    """Wrap ``model.decode`` to record the (image, sample) rows of every call."""
    seen: list[int] = []
    decode = model.decode

    def spy(z):
        seen.append(z.shape[:-1].numel())
        return decode(z)

    monkeypatch.setattr(model, "decode", spy)
    return seen


@pytest.mark.parametrize(
    ("n_images", "k", "chunk_size", "max_rows"),
    [
        (5, 1000, None, 64),
        (5, 1000, 64, 7),
        (5, 300, None, 5),
        (5, 300, 13, 3),
        (1, 500, None, 100),
    ],
)
def test_log_likelihood_rows_per_decoder_call_bounded_by_max_rows(
    vae, monkeypatch, n_images, k, chunk_size, max_rows
):
    """Every (image, sample) row is decoded once, at most max_rows in one call, whatever the
    number of images (more than max_rows: the images of one sample are split)."""
    model, x = vae
    seen = _spy_rows(model, monkeypatch)
    estimators.log_likelihood(model, x[:n_images], k, chunk_size, seed=0, max_rows=max_rows)
    assert max(seen) <= max_rows and sum(seen) == k * n_images, (max(seen), sum(seen))
    if chunk_size is None and max_rows >= n_images:  # the calls fill max_rows (but the last)
        assert max(seen) > max_rows - n_images


@pytest.mark.parametrize("max_rows", [1, 3, 5, 7, 64, 10_000])
@pytest.mark.parametrize("chunk_size", [None, 1, 9])
def test_log_likelihood_batched_equals_the_per_image_path(vae, max_rows, chunk_size):
    """The batched path gives, image by image, what the weights computed for that image alone
    give with the same noise (float64, confident logits up to |l| ~ 30 so that the
    x l - softplus(l) form meets large logits); the noise is the documented stream."""
    model, x = vae
    model = model.double()
    with torch.no_grad():
        model.decoder[2].weight.mul_(100.0)  # logits of tens of nats
    x = x.double()
    k, seed = 40, 3
    g = torch.Generator().manual_seed(seed)
    eps = torch.stack([torch.randn(5, 3, generator=g, dtype=F64) for _ in range(k)])  # (k, B, L)
    expected = []
    for j in range(x.shape[0]):  # one image at a time
        lw = _independent_log_weights(model, x[j : j + 1], eps[:, j : j + 1])  # (k, 1)
        expected.append(torch.logsumexp(lw[:, 0], 0) - math.log(k))
    with torch.no_grad():
        top = model.decode(model.encode(x)[0]).abs().max()
    assert top > 20  # the test does meet large logits
    got = estimators.log_likelihood(model, x, k, chunk_size, seed=seed, max_rows=max_rows)
    torch.testing.assert_close(got, torch.stack(expected), rtol=1e-12, atol=1e-10)


def test_log_likelihood_float32_same_for_any_max_rows(vae):
    """float32: the answer depends on max_rows and chunk_size only through rounding."""
    model, x = vae
    ref = estimators.log_likelihood(model, x, 200, 200, seed=1, max_rows=1)
    for chunk_size, max_rows in ((None, 2048), (7, 3), (200, 1000)):
        got = estimators.log_likelihood(model, x, 200, chunk_size, seed=1, max_rows=max_rows)
        torch.testing.assert_close(got, ref)


def test_log_likelihood_rejects_bad_max_rows(vae):
    model, x = vae
    with pytest.raises(ValueError, match="max_rows must be >= 1"):
        estimators.log_likelihood(model, x, 10, max_rows=0)
    with pytest.raises(TypeError, match="max_rows must be an int"):
        estimators.log_likelihood(model, x, 10, max_rows=2.0)
