"""Tests for vae_tutorial.surrogates: sticking the landing (STL) and doubly reparameterized (DReG)
gradients, on the linear-Gaussian model whose exact posterior and closed-form ELBO are known.

Independent references:
* the exact ELBO gradient: autograd through ``LinearGaussian.elbo`` (closed form, no sampling);
* zero variance: a model with orthogonal columns of W has a diagonal posterior, so q can equal it;
* DReG against the standard IWAE gradient: two estimators of the same expectation, compared within
  four standard errors of their difference; and a hand-built Tucker et al. surrogate
  sum_k stop(w~_k^2) log w_k(z_k(phi), stop(phi)) for the same draws;
* signal-to-noise ratios (Rainforth et al. 2018): the standard IWAE encoder gradient's falls with K,
  DReG's does not.
Monte Carlo checks use fixed seeds; tolerances come from the standard errors of the same draws.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch

from vae_tutorial import losses, sampling, surrogates
from vae_tutorial.models import LinearGaussian

F64 = torch.float64


@pytest.fixture
def lg() -> LinearGaussian:
    return LinearGaussian.random(data_dim=5, latent_dim=2, noise_std=0.3, seed=0).requires_grad_(
        False
    )


@pytest.fixture
def diagonal_lg() -> LinearGaussian:
    """Orthogonal columns of W: the posterior is diagonal, so a diagonal q can equal it."""
    w = torch.tensor([[2.0, 0.0], [0.0, 1.5], [1.0, 0.0], [0.0, 0.0]], dtype=F64)
    return LinearGaussian(w, torch.tensor([0.1, -0.2, 0.3, 0.0], dtype=F64), 0.5).requires_grad_(
        False
    )


def _x(model: LinearGaussian) -> torch.Tensor:
    x, _ = model.sample(1, generator=torch.Generator().manual_seed(1))
    return x


def _posterior_q(model: LinearGaussian, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    m, cov = model.posterior(x)
    return m, cov.diagonal().log().unsqueeze(0)


def _away(model: LinearGaussian, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    m, lv = _posterior_q(model, x)
    return m + 1.5 * (0.5 * lv).exp(), lv + 2 * math.log(2.0)


def _exact_elbo_gradient(model, x, mu, logvar):  # noqa: ANN001, ANN202
    mu_, lv_ = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    return torch.autograd.grad(model.elbo(x, mu_, lv_).sum(), (mu_, lv_))


@pytest.mark.parametrize("estimator", ["stl", "pathwise"])
def test_elbo_gradients_are_unbiased_against_the_closed_form(lg, estimator):
    x = _x(lg)
    mu, logvar = _away(lg, x)
    est = functools.partial(surrogates.elbo_gradient, estimator=estimator)
    r = 20_000
    stats = sampling.gradient_variance(
        est,
        lambda z: lg.log_joint(x, z),
        mu,
        logvar,
        1,
        r,
        generator=torch.Generator().manual_seed(2),
    )
    for mean, var, ref in zip(
        (stats.mean_mu, stats.mean_logvar),
        (stats.var_mu, stats.var_logvar),
        _exact_elbo_gradient(lg, x, mu, logvar),
        strict=True,
    ):
        se = (var / r).sqrt()
        msg = f"{estimator}: n={r}, mean {mean}, se {se}, exact {ref}"
        assert bool(((mean - ref).abs() < 4 * se).all()), msg
        assert bool((ref.abs() > 4 * se).all()), "the check has no power: " + msg


def test_stl_variance_is_zero_at_the_posterior_and_pathwise_is_the_fisher_information(
    diagonal_lg,
):
    x = _x(diagonal_lg)
    mu, logvar = _posterior_q(diagonal_lg, x)
    f = lambda z: diagonal_lg.log_joint(x, z)  # noqa: E731
    r, g = 4000, torch.Generator().manual_seed(3)
    stl = sampling.gradient_variance(
        functools.partial(surrogates.elbo_gradient, estimator="stl"),
        f,
        mu,
        logvar,
        1,
        r,
        generator=g,
    )
    path = sampling.gradient_variance(surrogates.elbo_gradient, f, mu, logvar, 1, r, generator=g)
    assert float(stl.total_variance) < 1e-24, float(stl.total_variance)
    assert float(stl.mean_mu.abs().max()) < 1e-12 and float(stl.mean_logvar.abs().max()) < 1e-12
    # at q = p(z|x) the standard estimate is -d log q / d phi: Var = 1/sigma^2 (mu) and 1/2 (logvar)
    fisher = (torch.exp(-logvar), torch.full_like(logvar, 0.5))
    for var, ref in zip((path.var_mu, path.var_logvar), fisher, strict=True):
        # the sd of a sample variance of a Gaussian (mu) or chi-square (logvar) variable:
        # sqrt(2/R) and sqrt(8/R) relative; 5 of them
        torch.testing.assert_close(var, ref, rtol=5 * math.sqrt(8 / r), atol=0)


def test_stl_is_the_path_term_built_by_hand(lg):
    x = _x(lg)
    mu, logvar = _away(lg, x)
    eps = torch.randn(6, 1, 2, dtype=F64, generator=torch.Generator().manual_seed(4))
    mu_, lv_ = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    z = mu_ + (0.5 * lv_).exp() * eps
    # grad_z [log p(x, z) - log q(z)] in closed form, times dz/dmu = 1, dz/dlogvar = sigma eps / 2
    w, b, s2 = lg.weight, lg.bias, lg.noise_var
    sig2 = logvar.exp()
    dz = ((x - z @ w.T - b) @ w) / s2 - z + (z - mu) / sig2  # (K, 1, L)
    want = (dz.mean(0), (dz * 0.5 * (0.5 * logvar).exp() * eps).mean(0))
    got = surrogates.elbo_gradient(
        lambda t: lg.log_joint(x, t), mu, logvar, 6, estimator="stl", eps=eps
    )
    torch.testing.assert_close(got, tuple(t.detach() for t in want))
    # and the value is the ordinary Monte Carlo ELBO
    value = surrogates.stl_elbo(lambda t: lg.log_joint(x, t), mu, logvar, 6, eps=eps)
    torch.testing.assert_close(value, lg.elbo(x, mu, logvar, form="joint_entropy", eps=eps))


def test_dreg_matches_the_tucker_surrogate_built_by_hand(lg):
    x = _x(lg)
    mu, logvar = _away(lg, x)
    eps = torch.randn(16, 1, 2, dtype=F64, generator=torch.Generator().manual_seed(5))
    mu_, lv_ = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    z = mu_ + (0.5 * lv_).exp() * eps
    log_w = lg.log_joint(x, z) - losses.log_normal_diag(z, mu_.detach(), lv_.detach())
    w2 = torch.softmax(log_w.detach(), 0) ** 2
    want = torch.autograd.grad((w2 * log_w).sum(), (mu_, lv_))
    got = surrogates.iwae_gradient(
        lambda t: lg.log_joint(x, t), mu, logvar, 16, estimator="dreg", eps=eps
    )
    torch.testing.assert_close(got, want)


def test_dreg_value_is_the_bound_and_its_model_gradient_the_iwae_one(lg):
    x = _x(lg)
    mu, logvar = _away(lg, x)
    eps = torch.randn(8, 1, 2, dtype=F64, generator=torch.Generator().manual_seed(6))
    model = LinearGaussian(lg.weight.detach(), lg.bias.detach(), 0.3)
    f = lambda t: model.log_joint(x, t)  # noqa: E731
    dreg = surrogates.dreg_iwae_bound(f, mu, logvar, 8, eps=eps)
    z = mu + (0.5 * logvar).exp() * eps
    ref = losses.iwae_bound(
        model.log_joint(x, z) - losses.log_normal_diag(z, mu, logvar), reduction="none"
    )
    torch.testing.assert_close(dreg, ref)
    params = (model.weight, model.bias, model.log_noise_std)
    torch.testing.assert_close(
        torch.autograd.grad(dreg.sum(), params), torch.autograd.grad(ref.sum(), params)
    )


@pytest.mark.parametrize("k", [4, 64])
def test_dreg_and_iwae_gradients_have_the_same_expectation(lg, k):
    x = _x(lg)
    mu, logvar = _away(lg, x)
    f = lambda z: lg.log_joint(x, z)  # noqa: E731
    r = 20_000
    iw = sampling.gradient_variance(
        surrogates.iwae_gradient, f, mu, logvar, k, r, generator=torch.Generator().manual_seed(7)
    )
    dr = sampling.gradient_variance(
        functools.partial(surrogates.iwae_gradient, estimator="dreg"),
        f,
        mu,
        logvar,
        k,
        r,
        generator=torch.Generator().manual_seed(8),
    )
    for a, b, va, vb in (
        (iw.mean_mu, dr.mean_mu, iw.var_mu, dr.var_mu),
        (iw.mean_logvar, dr.mean_logvar, iw.var_logvar, dr.var_logvar),
    ):
        se = ((va + vb) / r).sqrt()
        assert bool(((a - b).abs() < 4 * se).all()), (k, a, b, se)


def test_snr_of_the_iwae_encoder_gradient_falls_with_k_and_dreg_does_not(lg):
    x = _x(lg)
    mu, logvar = _away(lg, x)
    f = lambda z: lg.log_joint(x, z)  # noqa: E731
    dreg = functools.partial(surrogates.iwae_gradient, estimator="dreg")
    snr = {}
    for name, est in (("iwae", surrogates.iwae_gradient), ("dreg", dreg)):
        for k in (1, 16, 256):
            st = sampling.gradient_variance(
                est, f, mu, logvar, k, 20_000, generator=torch.Generator().manual_seed(k)
            )
            snr[name, k] = float(st.snr_mu.mean())
    # Rainforth et al.: O(1/sqrt K) for the standard estimator, 16x more samples, 4x less SNR
    assert snr["iwae", 1] > 3 * snr["iwae", 16] > 3 * 3 * snr["iwae", 256], snr
    assert snr["dreg", 256] > snr["dreg", 16] > 0.5 * snr["dreg", 1], snr
    assert snr["dreg", 256] > 20 * snr["iwae", 256], snr


def test_dreg_is_stl_at_one_sample(lg):
    x = _x(lg)
    mu, logvar = _away(lg, x)
    eps = torch.randn(1, 3, 1, 2, dtype=F64, generator=torch.Generator().manual_seed(9))
    mu3, lv3 = mu.expand(3, 1, 2), logvar.expand(3, 1, 2)
    f = lambda z: lg.log_joint(x, z)  # noqa: E731
    torch.testing.assert_close(
        surrogates.iwae_gradient(f, mu3, lv3, 1, estimator="dreg", eps=eps),
        surrogates.elbo_gradient(f, mu3, lv3, 1, estimator="stl", eps=eps),
    )


def test_gradients_run_on_each_device(device):
    w = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=F64, device=device)
    model = LinearGaussian(w, torch.zeros(2, dtype=F64, device=device), 0.5).requires_grad_(False)
    x = torch.ones(3, 2, dtype=F64, device=device)
    mu = torch.zeros(3, 2, dtype=F64, device=device)
    for fn, est in ((surrogates.elbo_gradient, "stl"), (surrogates.iwae_gradient, "dreg")):
        g_mu, g_lv = fn(lambda z: model.log_joint(x, z), mu, mu, 4, estimator=est)
        assert g_mu.device == x.device and g_mu.shape == (3, 2) and g_lv.shape == (3, 2)


def test_bad_inputs_name_the_argument(lg):
    x = _x(lg)
    mu, logvar = _away(lg, x)
    f = lambda z: lg.log_joint(x, z)  # noqa: E731
    with pytest.raises(ValueError, match="estimator must be 'pathwise' or 'stl'; got 'dreg'"):
        surrogates.elbo_gradient(f, mu, logvar, estimator="dreg")
    with pytest.raises(ValueError, match="estimator must be 'iwae' or 'dreg'; got 'stl'"):
        surrogates.iwae_gradient(f, mu, logvar, estimator="stl")
    with pytest.raises(TypeError, match="log_joint must be a function"):
        surrogates.stl_elbo(3, mu, logvar)
    with pytest.raises(ValueError, match="log_joint must map z of shape"):
        surrogates.dreg_iwae_bound(lambda z: z, mu, logvar, 4)
    with pytest.raises(ValueError, match="logvar must have the shape of mu"):
        surrogates.stl_elbo(f, mu, logvar[:, :1])
    with pytest.raises(ValueError, match="n_samples"):
        surrogates.dreg_iwae_bound(f, mu, logvar, 0)
    with pytest.raises(ValueError, match="eps must have shape"):
        surrogates.stl_elbo(f, mu, logvar, 2, eps=torch.zeros(3, 1, 2, dtype=F64))
    with pytest.raises(TypeError, match="mu"):
        surrogates.iwae_gradient(f, mu.numpy(), logvar, 2)
