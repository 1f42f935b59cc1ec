r"""Tests of what the chapter "VAEs in practice" adds to :mod:`vae_tutorial.losses`,
:class:`vae_tutorial.models.VAE` and :func:`vae_tutorial.training.train`.

* ``likelihoods.log_gaussian`` against ``torch.distributions.Normal`` (a shared and a per-pixel
  variance, ``(K, B, D)`` against ``(B, D)``, every reduction);
* ``likelihoods.continuous_bernoulli_log_normalizer`` against ``torch.distributions.
  ContinuousBernoulli`` and against quadrature of the unnormalized density
  :math:`\operatorname{sigmoid}(\ell)^x \operatorname{sigmoid}(-\ell)^{1 - x}` over [0, 1];
* ``losses.kl_free_bits`` against a loop over units; ``VAE(likelihood="gaussian")`` (fixed and
  learned shared variance) in ``log_weights``; the :math:`\beta \leftrightarrow \sigma_x^2`
  correspondence of the gradients; ``train(warmup_steps=, free_bits=)``;
* the chapter's symbols against ``book/notation.md`` (one symbol per meaning).
Each test failed once against a planted bug (noted at each test).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import pytest
import torch
from torch.distributions import ContinuousBernoulli, Independent, Normal

from vae_tutorial import estimators, likelihoods, losses, training
from vae_tutorial.models import VAE

F64 = torch.float64


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("shared", [True, False])
def test_log_gaussian_against_torch_distributions(reduction, shared):
    # planted bug: logvar used as the log standard deviation -> fails
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 6, generator=g, dtype=F64)
    mean = torch.randn(3, 4, 6, generator=g, dtype=F64)  # (K, B, D)
    logvar = torch.tensor(-1.3, dtype=F64) if shared else torch.randn(6, generator=g, dtype=F64)
    want = Independent(Normal(mean, (0.5 * logvar).exp().expand(mean.shape)), 1).log_prob(x)
    want = {"none": want, "mean": want.mean(), "sum": want.sum()}[reduction]
    torch.testing.assert_close(likelihoods.log_gaussian(x, mean, logvar, reduction=reduction), want)


def test_continuous_bernoulli_normalizer_against_torch_and_quadrature():
    # planted bug: Taylor term + l^2 / 6 (for l^2 / 12) -> fails
    logits = torch.cat([torch.linspace(-10, 10, 401, dtype=F64),
                        torch.linspace(-0.02, 0.02, 81, dtype=F64)])
    got = likelihoods.continuous_bernoulli_log_normalizer(logits[:, None])  # (N,): one pixel each
    want = ContinuousBernoulli(logits=logits)._cont_bern_log_norm()
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)  # torch's own Taylor: ~1e-7
    # quadrature: \int_0^1 \lambda^x (1 - \lambda)^{1 - x} dx = 1 / C(\lambda)
    xs = torch.linspace(0, 1, 20_001, dtype=F64)
    for logit in (-7.0, -0.3, 0.005, 0.0, 2.0, 9.0):
        lt = torch.tensor([[logit]], dtype=F64)
        dens = torch.exp(losses.log_bernoulli(xs[:, None], lt.expand(len(xs), 1)))
        integral = torch.trapezoid(dens, xs)
        log_c = likelihoods.continuous_bernoulli_log_normalizer(lt)[0]
        assert float(log_c + torch.log(integral)) == pytest.approx(0.0, abs=1e-7), logit
    # float32 near 0 agrees with float64 (the Taylor branch)
    small = torch.linspace(-0.05, 0.05, 101)
    log_norm = likelihoods.continuous_bernoulli_log_normalizer
    torch.testing.assert_close(log_norm(small[:, None]).double(), log_norm(small[:, None].double()),
                               atol=1e-6, rtol=0)
    # summed over the event dim, >= D log 2
    lg = torch.randn(5, 9, generator=torch.Generator().manual_seed(0))
    assert bool((likelihoods.continuous_bernoulli_log_normalizer(lg) >= 9 * math.log(2)).all())


def test_kl_free_bits_against_a_loop():
    # planted bug: max taken per example before the batch mean -> fails
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(8, 5, generator=g, dtype=F64), torch.randn(8, 5, generator=g,
                                                                        dtype=F64)
    lam = 0.9
    kl = torch.distributions.kl_divergence(Normal(mu, (0.5 * logvar).exp()),
                                           Normal(torch.zeros_like(mu), torch.ones_like(mu)))
    want = sum(max(lam, float(kl[:, u].mean())) for u in range(5))
    assert float(losses.kl_free_bits(mu, logvar, free_bits=lam)) == pytest.approx(want)
    torch.testing.assert_close(losses.kl_free_bits(mu, logvar, free_bits=0.0),
                               losses.kl_normal_std_normal(mu, logvar))
    with pytest.raises(ValueError, match="free_bits must be >= 0"):
        losses.kl_free_bits(mu, logvar, free_bits=-1.0)


@pytest.mark.parametrize("decoder_logvar", [-2.0, "learned"])
def test_gaussian_vae_log_weights(decoder_logvar):
    # planted bug: log_weights keep log_bernoulli for the Gaussian decoder -> fails
    torch.manual_seed(0)
    model = VAE(data_dim=6, hidden_dim=8, latent_dim=2, likelihood="gaussian",
                decoder_logvar=decoder_logvar).double()
    x = torch.rand(5, 6, dtype=F64)
    g = torch.Generator().manual_seed(3)
    log_w = model.log_weights(x, 4, generator=g)
    mu, logvar = model.encode(x)
    z = mu + (0.5 * logvar).exp() * torch.randn(4, 5, 2, generator=torch.Generator()
                                                 .manual_seed(3), dtype=F64)
    sd = (0.5 * model.decoder_logvar).exp()
    want = (Independent(Normal(model.decode(z), sd), 1).log_prob(x)
            + Independent(Normal(torch.zeros(2, dtype=F64), 1.0), 1).log_prob(z)
            - Independent(Normal(mu, (0.5 * logvar).exp()), 1).log_prob(z))
    torch.testing.assert_close(log_w, want)
    learned = [n for n, _ in model.named_parameters() if n == "decoder_logvar"]
    assert learned == (["decoder_logvar"] if decoder_logvar == "learned" else [])
    with pytest.raises(ValueError, match="model must have a Bernoulli decoder"):
        estimators.log_likelihood(model, x, k=2)


def test_beta_sigma_correspondence_of_gradients():
    # planted bug: beta = sigma^2 (for 2 sigma^2) -> fails
    torch.manual_seed(0)
    model = VAE(data_dim=6, hidden_dim=8, latent_dim=2, likelihood="gaussian",
                decoder_logvar=math.log(0.05)).double()
    x = torch.rand(7, 6, dtype=F64)
    eps = torch.randn(7, 2, generator=torch.Generator().manual_seed(1), dtype=F64)

    def grads(loss_fn):
        model.zero_grad()
        mu, logvar = model.encode(x)
        mean = model.decode(mu + (0.5 * logvar).exp() * eps)
        loss_fn(mean, mu, logvar).backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    sigma2 = 0.05
    g_elbo = grads(lambda m, mu, lv: -(model.decoder_log_prob(x, m)
                                       - losses.kl_normal_std_normal(mu, lv, reduction="none")
                                       ).mean())
    beta = 2 * sigma2
    g_mse = grads(lambda m, mu, lv: ((x - m).pow(2).sum(-1)
                                     + beta * losses.kl_normal_std_normal(mu, lv,
                                                                          reduction="none")
                                     ).mean())
    # -ELBO_sigma = (1 / (2 sigma^2)) (||x - m||^2 + 2 sigma^2 KL) + const
    torch.testing.assert_close(g_elbo, g_mse / (2 * sigma2))


def test_vae_likelihood_bad_inputs():
    with pytest.raises(ValueError, match="likelihood must be 'bernoulli' or 'gaussian'"):
        VAE(6, 8, 2, likelihood="laplace")
    with pytest.raises(ValueError, match="decoder_logvar is for likelihood='gaussian' only"):
        VAE(6, 8, 2, decoder_logvar=0.0)
    with pytest.raises(TypeError, match="decoder_logvar must be a real number"):
        VAE(6, 8, 2, likelihood="gaussian", decoder_logvar="fixed")
    # a Bernoulli VAE's state_dict is unchanged (checkpoints of earlier versions load)
    assert "decoder_logvar" not in VAE(6, 8, 2).state_dict()


def _kl_weights(warmup_steps: int, monkeypatch) -> list[float]:
    seen: list[float] = []
    real = training._objective

    def spy(model, xb, objective, k, beta, free_bits=0.0):  # noqa: ANN001
        seen.append(beta)
        return real(model, xb, objective, k, beta, free_bits)

    monkeypatch.setattr(training, "_objective", spy)
    torch.manual_seed(0)
    model = VAE(data_dim=6, hidden_dim=8, latent_dim=2)
    training.train(model, torch.rand(40, 6), epochs=3, batch_size=16, beta=2.0,
                   warmup_steps=warmup_steps, progress=False)  # 3 steps per epoch, uneven
    return seen


def test_train_warmup_schedule(monkeypatch):
    # planted bug: the step counter restarts every epoch -> fails
    seen = _kl_weights(6, monkeypatch)
    assert seen == pytest.approx([2.0 * min(1.0, t / 6) for t in range(1, 10)])
    assert _kl_weights(0, monkeypatch)[-9:] == [2.0] * 9


def test_train_free_bits_objective(monkeypatch):
    # planted bug: free_bits not passed on to the objective -> fails
    torch.manual_seed(0)
    model = VAE(data_dim=6, hidden_dim=8, latent_dim=3)
    x = torch.rand(16, 6)
    logits, mu, logvar = model(x)
    got = training._elbo(model, x, logits, mu, logvar, 1.0, free_bits=0.7)
    want = (losses.log_bernoulli(x, logits).mean()
            - losses.kl_free_bits(mu, logvar, free_bits=0.7))
    torch.testing.assert_close(got, want)
    calls = []
    real = losses.kl_free_bits
    monkeypatch.setattr(losses, "kl_free_bits",
                        lambda *a, **kw: calls.append(kw["free_bits"]) or real(*a, **kw))
    training.train(model, x, epochs=1, batch_size=8, free_bits=0.7, progress=False)
    assert calls == [0.7, 0.7]
    with pytest.raises(ValueError, match="free_bits needs objective='elbo'"):
        training.train(model, x, epochs=1, free_bits=0.5, objective="iwae", k=2, progress=False)
    with pytest.raises(ValueError, match="warmup_steps must be >= 0"):
        training.train(model, x, epochs=1, warmup_steps=-1, progress=False)


def test_train_gaussian_vae_learns_its_variance():
    # planted bug: evaluate keeps the Bernoulli ELBO for a Gaussian decoder -> fails
    torch.manual_seed(0)
    model = VAE(data_dim=6, hidden_dim=16, latent_dim=2, likelihood="gaussian")
    x = torch.rand(64, 6) * 0.1 + 0.45  # grey values with variance about 1e-3
    history = training.train(model, x, x, epochs=40, batch_size=16, lr=3e-2,
                             dynamic_binarization=False, progress=False)
    assert float(model.decoder_logvar.detach()) < -3.0  # learned sigma^2 well below 1
    with torch.no_grad():  # evaluate's ELBO by hand, with its noise (seed 0)
        mu, logvar = model.encode(x)
        eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(0))
        mean = model.decode(mu + (0.5 * logvar).exp() * eps)
        sd = (0.5 * model.decoder_logvar).exp()
        want = (Independent(Normal(mean, sd), 1).log_prob(x)
                - losses.kl_normal_std_normal(mu, logvar, reduction="none")).mean()
    assert history.val_elbo[history.best_epoch - 1] == pytest.approx(float(want), abs=1e-4)
    assert float(want) > 0  # a density on [0.45, 0.55]^6 above 1: a positive ELBO


BOOK = Path(__file__).resolve().parents[1] / "book"


def test_chapter_symbols_match_the_notation_page():
    # planted bugs: the heading's "\sigma^2" restored, "R_u" in the notation row, or the
    # continuous Bernoulli's "C(\lambda)" restored -> fails
    nb = nbformat.read(BOOK / "08_vaes_in_practice.ipynb", 4)
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    # the decoder's noise is sigma_x (sigma alone is the sd of q, which chapter 8 never needs)
    assert not re.findall(r"\\sigma\^2|\\sigma\^4|\\sigma_\\star", prose)
    # the KL per unit is \mathcal{R}_u (R alone counts repeats, chapter 5)
    assert not re.findall(r"(?<![{\w])R_u|\\bar R|\\tilde R\b", prose)
    # lambda is the free-bits floor only; the decoder mean is mu_theta (m is the posterior mean)
    assert not re.findall(r"\\lambda\^|\\lambda_j|C\(\\lambda|m_\\theta", prose)
    # u indexes latent units; the dequantization noise is xi, the pixel values y (k is a sample)
    assert not re.findall(r"\\mathbb\{E\}_u|\$u \\sim|P\(k\)", prose)
    notation = (BOOK / "notation.md").read_text()
    rows = [line.split(" | ")[0] for line in notation.splitlines() if line.startswith("| $")]
    for row in ("| $\\mathcal{R}_u$", "| $\\lambda$", "| $C(\\ell)$", "| $W, b, \\sigma_x$"):
        assert rows.count(row) == 1, (row, rows)
    assert not [r for r in rows if "R_u" in r.replace("\\mathcal{R}_u", "")
                or "(decoder)" in r or "C(\\lambda)" in r], rows
