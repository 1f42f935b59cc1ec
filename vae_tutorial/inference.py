"""Deprecated: ``vae_tutorial.inference`` was split by what it computes (see CHANGELOG.md).

Every name still resolves, for one release, with a ``DeprecationWarning`` that names its new
home; see ``CHANGELOG.md``:

* grids and quadrature -> :mod:`vae_tutorial.quadrature`;
* naive Monte Carlo from the prior, the Monte Carlo KL and its result type ->
  :mod:`vae_tutorial.estimators`;
* the entropy of a diagonal Gaussian -> :mod:`vae_tutorial.joint`;
* the closed forms of the linear-Gaussian model -> methods of
  :class:`vae_tutorial.models.LinearGaussian`;
* fitting :math:`q` (per data point, amortized, variational EM, 1-D fits) ->
  :mod:`vae_tutorial.variational`.
"""

from __future__ import annotations

import importlib
import warnings

# old name -> (new module, new name); a name with a dot is a LinearGaussian method
MOVED = {
    "FitResult": ("vae_tutorial.variational", "FitResult"),
    "LinearEncoder": ("vae_tutorial.variational", "LinearEncoder"),
    "MonteCarloEstimate": ("vae_tutorial.estimators", "MonteCarloEstimate"),
    "entropy_normal_diag": ("vae_tutorial.joint", "entropy_normal_diag"),
    "evidence_cost_study": ("vae_tutorial.quadrature", "evidence_cost_study"),
    "expected_log_joint": ("vae_tutorial.models", "LinearGaussian.expected_log_joint"),
    "expected_log_likelihood": ("vae_tutorial.models", "LinearGaussian.expected_log_likelihood"),
    "fit_amortized": ("vae_tutorial.variational", "fit_amortized"),
    "fit_gaussian_1d": ("vae_tutorial.variational", "fit_gaussian_1d"),
    "fit_per_datapoint": ("vae_tutorial.variational", "fit_per_datapoint"),
    "grid_log_evidence": ("vae_tutorial.quadrature", "grid_log_evidence"),
    "grid_posterior": ("vae_tutorial.quadrature", "grid_posterior"),
    "kl_monte_carlo": ("vae_tutorial.estimators", "kl_monte_carlo"),
    "kl_normal_mc": ("vae_tutorial.estimators", "kl_normal_mc"),
    "kl_quadrature_1d": ("vae_tutorial.quadrature", "kl_quadrature_1d"),
    "kl_to_posterior": ("vae_tutorial.models", "LinearGaussian.kl_to_posterior"),
    "linear_gaussian_elbo": ("vae_tutorial.models", "LinearGaussian.elbo"),
    "make_grid": ("vae_tutorial.quadrature", "make_grid"),
    "optimal_diagonal_q": ("vae_tutorial.models", "LinearGaussian.optimal_diagonal_q"),
    "prior_mc_log_evidence": (
        "vae_tutorial.estimators",
        "naive_monte_carlo(..., shared_noise=True).log_evidence",
    ),
    "variational_em": ("vae_tutorial.variational", "variational_em"),
}

__all__ = sorted(MOVED)

warnings.warn(
    "vae_tutorial.inference is deprecated and will be removed in the next release: its names "
    "moved to vae_tutorial.quadrature, .estimators, .joint, .variational and methods of "
    "vae_tutorial.models.LinearGaussian (see CHANGELOG.md)",
    DeprecationWarning,
    stacklevel=2,
)


def _method(name: str):  # noqa: ANN202
    """The old function ``f(model, ...)`` for the method ``LinearGaussian.name(...)``."""
    from vae_tutorial.models import LinearGaussian

    method = getattr(LinearGaussian, name)

    def function(model, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if not isinstance(model, LinearGaussian):
            raise TypeError(f"model must be a models.LinearGaussian; got {type(model).__name__}")
        return method(model, *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = method.__doc__
    return function


def _prior_mc_log_evidence(  # noqa: ANN202
    model, x, n_samples, *, eps=None, generator=None, chunk_size=65536  # noqa: ANN001
):
    from vae_tutorial.estimators import naive_monte_carlo

    return naive_monte_carlo(
        model, x, n_samples, eps=eps, generator=generator, chunk_size=chunk_size,
        shared_noise=True,
    ).log_evidence


def __getattr__(name: str) -> object:
    if name not in MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, new = MOVED[name]
    warnings.warn(
        f"vae_tutorial.inference.{name} is deprecated: use {module}.{new}",
        DeprecationWarning,
        stacklevel=2,
    )
    if name == "prior_mc_log_evidence":
        return _prior_mc_log_evidence
    if new.startswith("LinearGaussian."):
        return _method(new.split(".", 1)[1])
    return getattr(importlib.import_module(module), new)
