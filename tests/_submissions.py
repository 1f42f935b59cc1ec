"""Student submissions for the grader's kit: correct ones, written independently of the package
(by formula, and with ``torch.distributions``), and the ten typical wrong ones of issue 13.

Each takes the package's signature with ``reduction`` (keyword-only, default "mean").
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Normal, kl_divergence


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    return {"none": values, "mean": values.mean() if values.numel() else values.sum(),
            "sum": values.sum()}[reduction]


# --- correct ----------------------------------------------------------------------------------


def elbo_by_formula(x, logits, mu, logvar, *, beta=1.0, reduction="mean"):
    rec = -F.binary_cross_entropy_with_logits(
        logits, x.expand_as(logits), reduction="none").sum(-1)
    if logits.dim() > x.dim():
        rec = rec.mean(0)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)
    return _reduce(rec - beta * kl, reduction)


def elbo_with_distributions(x, logits, mu, logvar, *, beta=1.0, reduction="mean"):
    rec = Bernoulli(logits=logits).log_prob(x.expand_as(logits)).sum(-1)
    if logits.dim() > x.dim():
        rec = rec.mean(0)
    q = Normal(mu, torch.exp(0.5 * logvar))
    kl = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    return _reduce(rec - beta * kl, reduction)


def iwae_by_logsumexp(log_weights, *, reduction="mean"):
    return _reduce(torch.logsumexp(log_weights, 0) - math.log(log_weights.shape[0]), reduction)


def iwae_by_max_shift(log_weights, *, reduction="mean"):
    m = log_weights.max(0).values
    return _reduce(m + torch.log(torch.exp(log_weights - m).mean(0)), reduction)


def kl_with_distributions(mu, logvar, *, reduction="mean"):
    q = Normal(mu, torch.exp(0.5 * logvar))
    return _reduce(kl_divergence(q, Normal(0.0, 1.0)).sum(-1), reduction)


def kl_normal_normal_with_distributions(mu_q, logvar_q, mu_p, logvar_p, *, reduction="mean"):
    q, p = Normal(mu_q, torch.exp(0.5 * logvar_q)), Normal(mu_p, torch.exp(0.5 * logvar_p))
    return _reduce(kl_divergence(q, p).sum(-1), reduction)


def log_normal_diag_with_distributions(x, mu, logvar, *, reduction="none"):
    return _reduce(Normal(mu, torch.exp(0.5 * logvar)).log_prob(x).sum(-1), reduction)


def log_bernoulli_with_distributions(x, logits, *, reduction="none"):
    x, logits = torch.broadcast_tensors(x, logits)
    return _reduce(Bernoulli(logits=logits).log_prob(x).sum(-1), reduction)


def log_standard_normal_with_distributions(z, *, reduction="none"):
    return _reduce(Normal(0.0, 1.0).log_prob(z).sum(-1), reduction)


def elbo_mc_by_mean(log_weights, *, reduction="mean"):
    return _reduce(log_weights.mean(0), reduction)


# --- the ten wrong submissions -----------------------------------------------------------------


def elbo_kl_sign_flipped(x, logits, mu, logvar, *, reduction="mean"):
    rec = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)
    return _reduce(rec + kl, reduction)


def elbo_sigma_for_variance(x, logits, mu, logvar, *, reduction="mean"):
    rec = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    kl = -0.5 * (1 + logvar - mu.pow(2) - torch.exp(0.5 * logvar)).sum(-1)
    return _reduce(rec - kl, reduction)


def elbo_summed_over_batch(x, logits, mu, logvar, *, reduction="mean"):
    per_example = elbo_by_formula(x, logits, mu, logvar, reduction="none")
    return per_example if reduction == "none" else per_example.sum()


def elbo_summed_over_k(x, logits, mu, logvar, *, reduction="mean"):
    rec = -F.binary_cross_entropy_with_logits(
        logits, x.expand_as(logits), reduction="none").sum(-1)
    if logits.dim() > x.dim():
        rec = rec.sum(0)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)
    return _reduce(rec - kl, reduction)


def elbo_through_probabilities(x, logits, mu, logvar, *, reduction="mean"):
    # the pytorch/examples loss on sigmoid(logits): BCE clamps log(p) at -100
    rec = -F.binary_cross_entropy(torch.sigmoid(logits), x.expand_as(logits),
                                  reduction="none").sum(-1)
    if logits.dim() > x.dim():
        rec = rec.mean(0)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)
    return _reduce(rec - kl, reduction)


def elbo_pixel_mean(x, logits, mu, logvar, *, reduction="mean"):
    # F.binary_cross_entropy_with_logits averages over pixels unless told otherwise
    rec = -F.binary_cross_entropy_with_logits(
        logits, x.expand_as(logits), reduction="none").mean(-1)
    if logits.dim() > x.dim():
        rec = rec.mean(0)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)
    return _reduce(rec - kl, reduction)


def iwae_through_exp_log(log_weights, *, reduction="mean"):
    return _reduce(log_weights.exp().mean(0).log(), reduction)


def iwae_without_log_k(log_weights, *, reduction="mean"):
    return _reduce(torch.logsumexp(log_weights, 0), reduction)


def iwae_logsumexp_wrong_dim(log_weights, *, reduction="mean"):
    return _reduce(torch.logsumexp(log_weights, -1) - math.log(log_weights.shape[0]), reduction)


def iwae_is_the_elbo(log_weights, *, reduction="mean"):
    return _reduce(log_weights.mean(0), reduction)


WRONG = {
    "KL sign flipped": ("elbo", elbo_kl_sign_flipped),
    "sigma where sigma^2 belongs": ("elbo", elbo_sigma_for_variance),
    "summed over the batch": ("elbo", elbo_summed_over_batch),
    "summed over K": ("elbo", elbo_summed_over_k),
    "computed through probabilities": ("elbo", elbo_through_probabilities),
    "reconstruction averaged over pixels": ("elbo", elbo_pixel_mean),
    "IWAE through exp/log": ("iwae_bound", iwae_through_exp_log),
    "no - log K": ("iwae_bound", iwae_without_log_k),
    "logsumexp over the wrong dim": ("iwae_bound", iwae_logsumexp_wrong_dim),
    "the ELBO handed in as the IWAE bound": ("iwae_bound", iwae_is_the_elbo),
}
