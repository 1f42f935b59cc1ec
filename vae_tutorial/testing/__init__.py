r"""A grader's kit: check a student's implementation of the homework API in one call.

Each ``check_*`` function takes a student's function with the signature of the package's
function of the same name (:mod:`vae_tutorial.losses`, or
:func:`~vae_tutorial.estimators.log_likelihood`) and runs it on generated inputs:

* **against the package's reference**, over batch shapes (one example, a batch, two batch
  dims), K-sample shapes (``K = 5`` samples along dim 0, with ``K``, ``B``, ``D`` and ``L`` all
  different so that a reduction over the wrong dim shows), saturated logits
  (:math:`|\text{logit}| = 40`), underflowing and overflowing weights (:math:`\log w \approx \mp
  1000`), extreme log-variances (:math:`\log\sigma^2 = \pm 30`), in float64 and float32, with
  the tolerances of ``testing.TOLERANCES``; the gradients too, in float64;
* **by properties that need no reference**: KL :math:`\ge 0` and zero at :math:`q = p`; the ELBO
  below the exact :math:`\log p(x)` of a small Bernoulli VAE (computed by quadrature) for every
  :math:`q`; the IWAE bound equal to the weight at ``K = 1``, above the mean of the log weights,
  shifted by a constant added to them, rising with ``K`` towards the exact :math:`\log p(x)` of
  a linear-Gaussian model and never above it.

A failed case names itself and prints the expected and the received values, e.g.
``saturated logits (|logit| = 40), float64, reduction='none': expected tensor([-80.0000, ...]),
received tensor([-inf, ...])``. The checks return a :class:`Report`; by default a failure raises
:class:`SubmissionError` (an ``AssertionError``, so a pytest test or a notebook cell fails) whose
message lists every failed case.

How the student's function is called: with ``reduction=None`` (the default) it must accept the
package's keyword ``reduction`` and is called with ``"none"``, ``"mean"`` and ``"sum"``; with
``reduction="none"`` (or ``"mean"``, ``"sum"``) it is called without the keyword and must
perform that reduction (a homework that asks for, say, one value per example). ``beta`` is
tested where the function has such a parameter.

The models with exact evidence: :func:`tiny_bernoulli_vae` (a
:class:`~vae_tutorial.models.VAE` with ``D = 8``, ``L = 2``) with :func:`quadrature_log_evidence`
(its :math:`\log p(x)` on a grid, from :func:`vae_log_joint`) and
:class:`~vae_tutorial.models.LinearGaussian` (closed form).

Examples:
    >>> import math
    >>> import torch
    >>> from vae_tutorial import testing
    >>> def my_iwae_bound(log_weights):           # a student's answer: samples along dim 0
    ...     k = log_weights.shape[0]
    ...     return torch.logsumexp(log_weights, dim=0) - math.log(k)
    >>> report = testing.check_iwae_bound(my_iwae_bound, reduction="none")
    >>> report.passed, report.n_failed
    (True, 0)
    >>> def slip(log_weights):  # log K as a float32 tensor: 3e-8 off in float64
    ...     k = torch.tensor(float(log_weights.shape[0]))
    ...     return torch.logsumexp(log_weights, dim=0) - torch.log(k)
    >>> testing.check_iwae_bound(slip, reduction="none", raise_on_failure=False).n_failed
    6
    >>> def wrong_iwae_bound(log_weights):          # through exp and log: underflows
    ...     return log_weights.exp().mean(0).log()
    >>> report = testing.check_iwae_bound(wrong_iwae_bound, reduction="none",
    ...                                   raise_on_failure=False)
    >>> report.passed
    False
    >>> print(report.failures[0].name)
    underflowing weights (log w = -1000 + N(0, 1)), float64, reduction='none'

Introduced in the chapter "Using the package in homework".
"""


from __future__ import annotations

from vae_tutorial.testing.checks import (
    check_elbo,
    check_elbo_mc,
    check_iwae_bound,
    check_kl_normal_normal,
    check_kl_normal_std_normal,
    check_log_bernoulli,
    check_log_likelihood,
    check_log_normal_diag,
    check_log_standard_normal,
    check_negative_elbo,
)
from vae_tutorial.testing.exact import quadrature_log_evidence, tiny_bernoulli_vae, vae_log_joint
from vae_tutorial.testing.report import TOLERANCES, CaseResult, Report, SubmissionError, Tolerance

__all__ = [
    "TOLERANCES",
    "CaseResult",
    "Report",
    "SubmissionError",
    "Tolerance",
    "check_elbo",
    "check_elbo_mc",
    "check_iwae_bound",
    "check_kl_normal_normal",
    "check_kl_normal_std_normal",
    "check_log_bernoulli",
    "check_log_likelihood",
    "check_log_normal_diag",
    "check_log_standard_normal",
    "check_negative_elbo",
    "quadrature_log_evidence",
    "tiny_bernoulli_vae",
    "vae_log_joint",
]
