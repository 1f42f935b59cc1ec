"""Shared pieces of the tests of the linear-Gaussian model's estimators and fits
(test_linear_gaussian, test_quadrature, test_variational, test_kl_estimators): a small model with
a correlated posterior, data with a diagonal Gaussian q per point, q as a torch distribution,
and a Monte Carlo check within four standard errors; the fixtures ``model`` and ``data`` (the
model and the data) are in conftest.py.
"""

from __future__ import annotations

import torch
from torch.distributions import MultivariateNormal

F64 = torch.float64


def within_4se(estimate, se, exact, what):  # noqa: ANN001
    ok = ((estimate - exact).abs() <= 4 * se).all()
    assert ok, f"{what}: estimate {estimate} exact {exact} standard error {se}"


def q_dist(mu, logvar):  # noqa: ANN001, ANN201
    return MultivariateNormal(mu, covariance_matrix=torch.diag_embed(logvar.exp()))
