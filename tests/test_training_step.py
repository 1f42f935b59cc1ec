"""training.training_step, the body of Algorithm 1 (Kingma & Welling 2014), and `train` built on it.

Chapter 7 writes the training loop by hand from Algorithm 1 with `training_step`; here the same
hand-written loop must reproduce `training.train` exactly on a fixed seed (uneven last batch,
beta != 1, k > 1, both objectives), so the loop the chapter shows is the loop the package runs.
"""

from __future__ import annotations

import math

import pytest
import torch

from vae_tutorial import losses, training
from vae_tutorial.models import VAE


def _data(n=70, d=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, d, generator=g)  # grey values: binarized every batch


def _model(seed=1):
    torch.manual_seed(seed)
    return VAE(data_dim=20, hidden_dim=16, latent_dim=3)


def _algorithm_1(model, x, *, epochs, batch_size, lr, seed, objective, k, beta):
    """Algorithm 1 (minibatch AEVB) written out, with train's random-number order."""
    g = training.seed_everything(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    n = x.shape[0]
    means = []
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)  # a random minibatch order
        total = 0.0
        for i in range(math.ceil(n / batch_size)):
            xb = torch.bernoulli(x[perm[i * batch_size:(i + 1) * batch_size]], generator=g)
            bound = training.training_step(model, opt, xb, objective=objective, k=k, beta=beta)
            total += float(bound) * xb.shape[0]
        means.append(total / n)
    return means


@pytest.mark.parametrize("objective, k, beta", [("elbo", 1, 1.0), ("elbo", 3, 0.5),
                                                 ("iwae", 4, 1.0)])
def test_a_hand_written_algorithm_1_loop_reproduces_train(objective, k, beta):
    x = _data()  # 70 examples in batches of 16: the last batch has 6
    kwargs = dict(epochs=2, batch_size=16, lr=3e-3, seed=5, objective=objective, k=k, beta=beta)
    by_hand = _model()
    means = _algorithm_1(by_hand, x, **kwargs)
    packaged = _model()
    history = training.train(packaged, x, progress=False, **kwargs)
    # train keeps the best epoch (no validation data: the best training objective)
    best = max(range(2), key=lambda e: means[e])
    assert history.best_epoch == best + 1
    torch.testing.assert_close(history.train_elbo, means, rtol=1e-5, atol=1e-5)
    if best == 1:  # the final state is the best one: the parameters agree
        for a, b in zip(by_hand.parameters(), packaged.parameters(), strict=True):
            torch.testing.assert_close(a, b)


def test_the_step_returns_the_bound_before_the_step_and_improves_it():
    model = _model()
    x = torch.bernoulli(_data(32), generator=torch.Generator().manual_seed(2))
    torch.manual_seed(7)
    before = losses.elbo(x, *model(x), beta=0.7).detach()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    torch.manual_seed(7)
    returned = training.training_step(model, opt, x, beta=0.7)
    torch.testing.assert_close(returned, before)
    assert not returned.requires_grad
    # ascent: with the same noise, the bound after a small step is higher
    torch.manual_seed(7)
    after = losses.elbo(x, *model(x), beta=0.7).detach()
    assert after > before


def test_the_step_moves_encoder_and_decoder_together():
    model = _model()
    x = torch.bernoulli(_data(16), generator=torch.Generator().manual_seed(3))
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    training.training_step(model, torch.optim.SGD(model.parameters(), lr=1e-2), x)
    moved = {n for n, p in model.named_parameters() if not torch.equal(p, start[n])}
    assert moved == set(start)  # theta (decoder) and phi (encoder) in one step


def test_an_unknown_objective_is_named():
    model = _model()
    with pytest.raises(ValueError, match="objective: expected 'elbo' or 'iwae', got 'kl'"):
        training.training_step(model, torch.optim.SGD(model.parameters(), lr=1e-2),
                               torch.zeros(2, 20), objective="kl")
