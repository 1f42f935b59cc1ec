"""Tests of :class:`vae_tutorial.models.GaussianMixture`: evidence and posterior against SciPy and
direct sums, sampling against the weights and the component moments (within 4 standard errors at
a fixed seed, a false-failure rate of about 6e-5 per compared value), and input errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from vae_tutorial.models import GaussianMixture

F64 = torch.float64


@pytest.fixture
def mixture() -> GaussianMixture:
    weights = torch.tensor([0.2, 0.5, 0.3], dtype=F64)
    means = torch.tensor([[-2.0, 0.0], [1.0, 1.0], [2.0, -2.0]], dtype=F64)
    covs = torch.tensor(
        [[[0.5, 0.2], [0.2, 0.4]], [[1.0, -0.3], [-0.3, 0.6]], [[0.3, 0.0], [0.0, 0.3]]], dtype=F64
    )
    return GaussianMixture(weights, means, covs)


def test_log_evidence_matches_scipy(mixture, generator):
    x = torch.randn(7, 2, dtype=F64, generator=generator) * 2
    ref = np.log(
        sum(
            float(mixture.weights[k])
            * stats.multivariate_normal(
                mixture.means[k].numpy(), mixture.covariances[k].numpy()
            ).pdf(x.numpy())
            for k in range(3)
        )
    )
    torch.testing.assert_close(
        mixture.log_evidence(x), torch.from_numpy(ref), rtol=1e-10, atol=1e-10
    )


def test_posterior_is_bayes_rule_and_normalized(mixture, generator):
    x = torch.randn(4, 3, 2, dtype=F64, generator=generator)
    post = mixture.posterior(x)
    assert post.shape == (4, 3, 3)
    torch.testing.assert_close(post.sum(-1), torch.ones(4, 3, dtype=F64))
    # p(z=k|x) p(x) = p(x, z=k)
    joint = post * mixture.log_evidence(x).exp().unsqueeze(-1)
    torch.testing.assert_close(joint, mixture.log_joint(x).exp())


def test_evidence_integrates_to_one_in_1d():
    gm = GaussianMixture(
        torch.tensor([0.3, 0.7], dtype=F64),
        torch.tensor([[-2.0], [2.0]], dtype=F64),
        torch.tensor([[[0.5]], [[1.0]]], dtype=F64),
    )
    grid = torch.linspace(-15, 15, 30001, dtype=F64)
    mass = torch.trapezoid(gm.log_evidence(grid[:, None]).exp(), grid)
    assert abs(float(mass) - 1.0) < 1e-10


def test_sample_frequencies_and_moments(mixture):
    n = 40_000
    x, z = mixture.sample(n, generator=torch.Generator().manual_seed(1))
    assert x.shape == (n, 2) and z.shape == (n,)
    freq = torch.bincount(z, minlength=3).to(F64) / n
    se = (mixture.weights * (1 - mixture.weights) / n).sqrt()
    assert ((freq - mixture.weights).abs() < 4 * se).all(), (freq, mixture.weights, se)
    for k in range(3):
        xk = x[z == k]
        se_mean = (torch.diagonal(mixture.covariances[k]) / xk.shape[0]).sqrt()
        err = (xk.mean(0) - mixture.means[k]).abs()
        assert (err < 4 * se_mean).all(), f"component {k}: n={xk.shape[0]} err={err} se={se_mean}"


def test_sample_is_reproducible(mixture):
    a = mixture.sample(5, generator=torch.Generator().manual_seed(3))
    b = mixture.sample(5, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a[0], b[0])
    assert torch.equal(a[1], b[1])


@pytest.mark.parametrize(
    "weights, means, covs, match",
    [
        ([0.5, 0.6], [[0.0], [1.0]], [[[1.0]], [[1.0]]], "weights must be positive and sum to 1"),
        ([0.5, 0.5], [[0.0], [1.0]], [[[1.0]]], "covariances"),
        ([0.5, 0.5], [[0.0], [1.0]], [[[1.0]], [[-1.0]]], "positive definite"),
    ],
)
def test_bad_parameters_raise(weights, means, covs, match):
    t = lambda v: torch.tensor(v, dtype=F64)  # noqa: E731
    with pytest.raises(ValueError, match=match):
        GaussianMixture(t(weights), t(means), t(covs))


def test_bad_inputs_raise(mixture):
    with pytest.raises(ValueError, match="last dim D=2"):
        mixture.log_evidence(torch.zeros(3, 4, dtype=F64))
    with pytest.raises(TypeError, match="floating-point"):
        mixture.posterior(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="weights must be a torch.Tensor"):
        GaussianMixture([0.5, 0.5], torch.zeros(2, 1), torch.ones(2, 1, 1))
    with pytest.raises(ValueError, match="n must be >= 1"):
        mixture.sample(0)
    assert math.isfinite(float(mixture.log_evidence(torch.zeros(2, dtype=F64))))
