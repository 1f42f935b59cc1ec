"""The contract breaks and silent traps of issue 13, item 5, in ``vae_tutorial.losses``.

Each test was run once against main before the fix (0d7ba34) and failed there: the broadcasting
prior raised, ``-inf`` log weights raised, ``vmap`` raised torch's own ``.item()`` error, and the
messages blamed ``logits`` for a wrong ``x``.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vae_tutorial import losses
from vae_tutorial.estimators import log_mean_exp

F64 = torch.float64


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- kl_normal_normal: a prior of shape (1,) or () broadcasts ---------------------------------


@pytest.mark.parametrize("prior_shape", [(), (1,), (3,), (1, 1), (4, 1)])
def test_kl_normal_normal_broadcasts_a_shared_prior(prior_shape):
    g = _g(1)
    mu_q = torch.randn(4, 3, generator=g, dtype=F64)
    lv_q = torch.randn(4, 3, generator=g, dtype=F64)
    mu_p = torch.randn(prior_shape, generator=g, dtype=F64)
    lv_p = torch.randn(prior_shape, generator=g, dtype=F64)
    got = losses.kl_normal_normal(mu_q, lv_q, mu_p, lv_p, reduction="none")
    q = Normal(mu_q, torch.exp(0.5 * lv_q))
    p = Normal(mu_p.expand(4, 3), torch.exp(0.5 * lv_p).expand(4, 3))
    expected = kl_divergence(q, p).sum(-1)
    assert got.shape == (4,)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_kl_normal_normal_still_refuses_a_prior_of_another_event_size():
    with pytest.raises(ValueError, match=r"mu_p must broadcast with mu_q \(4, 3\) .*got \(2,\)"):
        q, p = torch.zeros(4, 3), torch.zeros(2)
        losses.kl_normal_normal(q, q, p, p)


# --- iwae_bound: -inf is a zero weight ---------------------------------------------------------


def test_iwae_bound_accepts_zero_weights_as_log_mean_exp_does():
    lw = torch.tensor([[-1.0, -math.inf], [-3.0, -math.inf], [-math.inf, -math.inf]], dtype=F64)
    got = losses.iwae_bound(lw, reduction="none")
    # log((e^-1 + e^-3 + 0) / 3) and log(0) = -inf
    expected = torch.tensor([math.log((math.exp(-1) + math.exp(-3)) / 3), -math.inf], dtype=F64)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(got, log_mean_exp(lw))


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_iwae_bound_still_refuses_nan_and_plus_inf(bad):
    lw = torch.zeros(3, 2)
    lw[1, 1] = bad
    with pytest.raises(ValueError, match=r"log_weights must be finite or -inf \(a zero weight\); "
                                         r"got 1 value\(s\) nan or \+inf"):
        losses.iwae_bound(lw)


# --- validation under torch.func transforms -----------------------------------------------------


def test_validation_on_works_under_vmap_and_gives_the_loop_values():
    assert losses.is_validation_enabled()
    g = _g(2)
    x = torch.rand(5, 4, 6, generator=g).round()
    logits, mu, lv = (torch.randn(5, 4, d, generator=g) for d in (6, 2, 2))
    lw = torch.randn(5, 3, 4, generator=g)
    batched = {
        "elbo": torch.func.vmap(losses.elbo)(x, logits, mu, lv),
        "iwae_bound": torch.func.vmap(losses.iwae_bound)(lw),
        "kl_normal_std_normal": torch.func.vmap(losses.kl_normal_std_normal)(mu, lv),
    }
    looped = {
        "elbo": torch.stack([losses.elbo(*a) for a in zip(x, logits, mu, lv, strict=True)]),
        "iwae_bound": torch.stack([losses.iwae_bound(w) for w in lw]),
        "kl_normal_std_normal": torch.stack(
            [losses.kl_normal_std_normal(m, v) for m, v in zip(mu, lv, strict=True)]
        ),
    }
    for name, value in batched.items():
        torch.testing.assert_close(value, looped[name], msg=name)


def test_jacrev_of_the_kl_is_the_closed_form_gradient():
    mu = torch.randn(4, 3, generator=_g(3), dtype=F64)
    lv = torch.zeros(4, 3, dtype=F64)
    jac = torch.func.jacrev(lambda m: losses.kl_normal_std_normal(m, lv, reduction="sum"))(mu)
    torch.testing.assert_close(jac, mu)  # d/dmu 1/2 mu^2 = mu


def test_shape_checks_still_run_under_vmap():
    with pytest.raises(ValueError, match=r"logvar must have the shape of mu \(4, 3\); got "):
        torch.func.vmap(lambda m: losses.kl_normal_std_normal(m, m[:, :2]))(torch.randn(5, 4, 3))


# --- elbo: the argument to blame, and hints for other conventions -------------------------------


def test_a_wrong_x_shape_is_blamed_on_x():
    logits, mu = torch.zeros(4, 784), torch.zeros(4, 2)
    for x in (torch.rand(3, 784), torch.rand(4, 28, 28)):
        with pytest.raises(ValueError, match=r"^x must have the batch shape \(4,\) of mu \(4, 2\) "
                                             r"and logits \(4, 784\)"):
            losses.elbo(x, logits, mu, mu)


def test_samples_last_logits_get_a_transpose_hint():
    x, mu = torch.rand(4, 3).round(), torch.zeros(4, 2)
    with pytest.raises(ValueError, match=r"got \(4, 5, 3\); samples go along dim 0, \(K, B, D\): "
                                         r"if yours are \(B, K, D\), pass logits\.transpose"):
        losses.elbo(x, torch.zeros(4, 5, 3), mu, mu)


def test_swapped_x_and_logits_get_an_order_hint():
    x = torch.rand(4, 3, generator=_g(4)).round()
    logits = torch.tensor([[3.0, -2.0, 0.5]]).expand(4, 3)
    with pytest.raises(ValueError, match=r"were x and logits swapped\? The order is "
                                         r"elbo\(x, logits, mu, logvar\)"):
        losses.elbo(logits, x, torch.zeros(4, 2), torch.zeros(4, 2))
    # no hint where the logits could not be targets
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\].*\]$"):
        losses.elbo(logits, logits, torch.zeros(4, 2), torch.zeros(4, 2))


@pytest.mark.parametrize("name", ["log_normal_diag", "log_bernoulli", "kl_normal_std_normal",
                                  "kl_normal_normal", "elbo", "iwae_bound", "elbo_mc"])
def test_each_docstring_states_its_convention_in_its_first_lines(name):
    doc = getattr(losses, name).__doc__
    head = doc.split(".. math::")[0]
    words = {
        "log_normal_diag": "not a scale", "log_bernoulli": "not probabilities",
        "kl_normal_std_normal": "not :math:`\\sigma`", "kl_normal_normal": "broadcasts",
        "elbo": "The order is ``(x, logits, mu, logvar)``", "iwae_bound": "``(B, K)``",
        "elbo_mc": "Samples go along dim 0",
    }
    assert words[name] in head, head
