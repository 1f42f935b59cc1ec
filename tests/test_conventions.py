"""The table "Other conventions, side by side" of book/homework.ipynb (issue 13, item 4): each
peer's formula, written from its documented convention (Pyro and pythae are not installed), equals
the one-line conversion to ``vae_tutorial``, and the unconverted call is a different number (the
trap is real). float64, several seeds, uneven shapes."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Normal, kl_divergence

from vae_tutorial import losses
from vae_tutorial.models import VAE

F64 = torch.float64
B, D, L, K = 5, 7, 3, 4


@pytest.fixture(params=[0, 1, 2])
def data(request):
    g = torch.Generator().manual_seed(request.param)
    out = {
        "x": torch.rand(B, D, generator=g, dtype=F64).round(),
        "logits": 2 * torch.randn(B, D, generator=g, dtype=F64),
        "mu": torch.randn(B, L, generator=g, dtype=F64),
        "scale": torch.rand(B, L, generator=g, dtype=F64) + 0.2,
        "mu_p": torch.randn(L, generator=g, dtype=F64),
        "var_p": torch.rand(L, generator=g, dtype=F64) + 0.5,
    }
    out["z"] = out["mu"] + out["scale"] * torch.randn(B, L, generator=g, dtype=F64)
    return out


def _close(a, b):
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def _differs(a, b):
    assert not torch.allclose(a, b, rtol=1e-3, atol=1e-3)


# --- course homework utilities: variances --------------------------------------------------------


def course_log_normal(x, m, v):
    return -0.5 * (torch.log(v) + (x - m).pow(2) / v + math.log(2 * math.pi)).sum(-1)


def course_kl_normal(qm, qv, pm, pv):
    return (0.5 * (torch.log(pv) - torch.log(qv) + qv / pv + (qm - pm).pow(2) / pv - 1)).sum(-1)


def test_course_utilities_with_variances(data):
    z, m, v = data["z"], data["mu"], data["scale"] ** 2
    _close(course_log_normal(z, m, v), losses.log_normal_diag(z, m, torch.log(v)))
    pm, pv = data["mu_p"], data["var_p"]
    _close(course_kl_normal(m, v, pm, pv),
           losses.kl_normal_normal(m, torch.log(v), pm, torch.log(pv), reduction="none"))
    _differs(course_log_normal(z, m, v), losses.log_normal_diag(z, m, v))  # v as logvar


# --- torch.distributions and Pyro: scales ---------------------------------------------------


def test_torch_distributions_with_scales(data):
    z, mu, scale, x, logits = data["z"], data["mu"], data["scale"], data["x"], data["logits"]
    logvar = 2 * torch.log(scale)
    _close(Normal(mu, scale).log_prob(z).sum(-1), losses.log_normal_diag(z, mu, logvar))
    _close(kl_divergence(Normal(mu, scale), Normal(0.0, 1.0)).sum(-1),
           losses.kl_normal_std_normal(mu, 2 * torch.log(scale), reduction="none"))
    _close(Bernoulli(logits=logits).log_prob(x).sum(-1), losses.log_bernoulli(x, logits))
    _differs(Normal(mu, scale).log_prob(z).sum(-1), losses.log_normal_diag(z, mu, scale))


def pyro_trace_mean_field_elbo_loss(x, probs, mu, scale):
    """Pyro's TraceMeanField_ELBO().loss with one particle: the model samples z ~ N(0, I) and
    x ~ Bernoulli(probs).to_event(1) in a plate over the batch, the guide N(mu, scale).to_event(1);
    the loss is -(sum over the plate of log p(x|z) - KL(q || p)), the KL analytic."""
    rec = Bernoulli(probs=probs).log_prob(x).sum(-1)
    kl = kl_divergence(Normal(mu, scale), Normal(torch.zeros_like(mu), 1.0)).sum(-1)
    return -(rec - kl).sum()


def pyro_trace_elbo_loss(x, probs, mu, scale, z):
    """Pyro's Trace_ELBO().loss with one particle z: -(sum of log p(x, z) - log q(z))."""
    log_p = Bernoulli(probs=probs).log_prob(x).sum(-1) + Normal(0.0, 1.0).log_prob(z).sum(-1)
    return -(log_p - Normal(mu, scale).log_prob(z).sum(-1)).sum()


def pyro_renyi_alpha0_loss(log_p, log_q):
    """Pyro's RenyiELBO(alpha=0, num_particles=K).loss: -(sum over the plate of
    logsumexp_k (log p - log q) - log K), particles along dim 0."""
    return -(torch.logsumexp(log_p - log_q, 0) - math.log(log_p.shape[0])).sum()


def test_pyro_losses(data):
    x, logits, mu, scale, z = data["x"], data["logits"], data["mu"], data["scale"], data["z"]
    probs = torch.sigmoid(logits)
    ours = -losses.elbo(x, logits, mu, 2 * torch.log(scale), reduction="sum")
    _close(pyro_trace_mean_field_elbo_loss(x, probs, mu, scale), ours)
    # Trace_ELBO has a Monte Carlo KL: it equals the sum of -log w for the same z
    log_w = (losses.log_bernoulli(x, logits) + losses.log_standard_normal(z)
             - losses.log_normal_diag(z, mu, 2 * torch.log(scale)))
    _close(pyro_trace_elbo_loss(x, probs, mu, scale, z),
           -losses.elbo_mc(log_w.unsqueeze(0), reduction="sum"))
    g = torch.Generator().manual_seed(7)
    log_p, log_q = torch.randn(K, B, generator=g, dtype=F64), torch.randn(K, B, generator=g,
                                                                           dtype=F64)
    _close(pyro_renyi_alpha0_loss(log_p, log_q), -losses.iwae_bound(log_p - log_q,
                                                                    reduction="sum"))
    _differs(pyro_trace_mean_field_elbo_loss(x, probs, mu, scale), -losses.elbo(
        x, logits, mu, 2 * torch.log(scale)))  # the default mean is not Pyro's sum


# --- pytorch/examples and pythae: probabilities --------------------------------------------


def pytorch_examples_loss(recon_x, x, mu, logvar):
    """examples/vae/main.py: BCE(recon_x, x) summed over pixels and batch, plus the KLD."""
    bce = F.binary_cross_entropy(recon_x, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def pythae_vae_loss(recon_x, x, mu, log_var):
    """pythae VAE.loss_function with reconstruction_loss="bce": the batch mean of
    BCE summed over pixels plus the KLD."""
    recon = F.binary_cross_entropy(recon_x, x, reduction="none").sum(-1)
    kld = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=-1)
    return (recon + kld).mean(0)


def test_pytorch_examples_and_pythae_losses(data):
    x, logits, mu = data["x"], data["logits"], data["mu"]
    logvar = 2 * torch.log(data["scale"])
    recon_x = torch.sigmoid(logits)
    _close(pytorch_examples_loss(recon_x, x, mu, logvar),
           losses.negative_elbo(x, logits, mu, logvar, reduction="sum"))
    _close(pythae_vae_loss(recon_x, x, mu, logvar), losses.negative_elbo(x, logits, mu, logvar))
    # the traps: probabilities as logits, and the reconstruction passed first
    _differs(pythae_vae_loss(recon_x, x, mu, logvar), losses.negative_elbo(x, recon_x, mu, logvar))


def test_saturated_probabilities_are_where_the_conversion_breaks():
    x = torch.tensor([[0.0, 1.0]], dtype=F64)
    logits = torch.tensor([[40.0, -40.0]], dtype=F64)
    mu = torch.zeros(1, 1, dtype=F64)
    theirs = pytorch_examples_loss(torch.sigmoid(logits), x, mu, mu)  # log(1 - p) clamped
    assert float(theirs) == pytest.approx(100 + 40, abs=1e-6)  # -log(0) clamped to 100
    assert float(losses.negative_elbo(x, logits, mu, mu)) == pytest.approx(80, abs=1e-6)


def pythae_get_nll(model, data, eps):
    """pythae VAE.get_nll with n_samples = K (eps: (K, B, L), one row of noise per sample):
    per image, log q and log p(z) without their log 2 pi (it cancels), BCE on the decoder's
    probabilities, logsumexp - log K; returned as the MEAN over images of log p(x)."""
    log_p = []
    for i in range(len(data)):
        x = data[i].unsqueeze(0)
        mu, log_var = model.encode(x)
        z = mu + torch.exp(0.5 * log_var) * eps[:, i]  # (K, L)
        log_q_z_given_x = -0.5 * (log_var + (z - mu) ** 2 / torch.exp(log_var)).sum(dim=-1)
        log_p_z = -0.5 * (z**2).sum(dim=-1)
        recon_x = torch.sigmoid(model.decode(z))
        log_p_x_given_z = -F.binary_cross_entropy(recon_x, x.expand_as(recon_x),
                                                  reduction="none").sum(dim=-1)
        log_p_x = log_p_x_given_z + log_p_z - log_q_z_given_x
        log_p.append(float(torch.logsumexp(log_p_x, 0) - math.log(len(log_p_x))))
    return sum(log_p) / len(log_p)


def test_pythae_get_nll_is_the_mean_log_likelihood():
    torch.manual_seed(0)
    model = VAE(data_dim=D, hidden_dim=8, latent_dim=2).to(F64).eval()
    g = torch.Generator().manual_seed(3)
    x = torch.rand(B, D, generator=g, dtype=F64).round()
    eps = torch.randn(50, B, 2, generator=g, dtype=F64)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        z = mu + torch.exp(0.5 * logvar) * eps  # (K, B, L)
        log_w = (losses.log_bernoulli(x, model.decode(z)) + losses.log_standard_normal(z)
                 - losses.log_normal_diag(z, mu, logvar))
        ours = losses.iwae_bound(log_w)  # what estimators.log_likelihood(...).mean() computes
        theirs = pythae_get_nll(model, x, eps)
    assert theirs == pytest.approx(float(ours), abs=1e-10)
    assert theirs < 0  # a log-likelihood, not its negative
