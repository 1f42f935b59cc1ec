r"""Monte Carlo estimators: the evidence from three proposals, the KL, on one chunked core.

* ``vae_tutorial.estimators.weights``, the core: :class:`MonteCarloEstimate` (the one result
  type), :func:`stream_log_weights` (the chunked sampler every evidence estimator runs on),
  :func:`log_mean_exp`, :func:`effective_sample_size`, :func:`log_standard_error`.
* ``vae_tutorial.estimators.evidence``: :func:`naive_monte_carlo` (from the prior),
  :func:`importance_sampling` (from any diagonal Gaussian), :func:`log_likelihood` (from a VAE's
  encoder); :func:`log_joint` of any model.
* ``vae_tutorial.estimators.kl``: :func:`kl_monte_carlo`, :func:`kl_normal_mc`.

Everything is importable from here: ``from vae_tutorial import estimators``.

Introduced in the chapter "Importance sampling".
"""

import warnings

from vae_tutorial.estimators.evidence import (
    importance_sampling,
    log_joint,
    log_likelihood,
    naive_monte_carlo,
)
from vae_tutorial.estimators.kl import kl_monte_carlo, kl_normal_mc
from vae_tutorial.estimators.weights import (
    MonteCarloEstimate,
    effective_sample_size,
    evidence_estimate,
    log_mean_exp,
    log_standard_error,
    stream_log_weights,
)

__all__ = [
    "MonteCarloEstimate",
    "effective_sample_size",
    "evidence_estimate",
    "importance_sampling",
    "kl_monte_carlo",
    "kl_normal_mc",
    "log_joint",
    "log_likelihood",
    "log_mean_exp",
    "log_standard_error",
    "naive_monte_carlo",
    "stream_log_weights",
]


def __getattr__(name: str) -> object:
    # estimators.EvidenceEstimate (deprecated): the evidence case of the one result type
    if name == "EvidenceEstimate":
        warnings.warn(
            "vae_tutorial.estimators.EvidenceEstimate is deprecated: evidence estimators return "
            "vae_tutorial.estimators.MonteCarloEstimate",
            DeprecationWarning,
            stacklevel=2,
        )
        return MonteCarloEstimate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
