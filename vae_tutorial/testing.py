r"""A grader's kit: check a student's implementation of the homework API in one call.

Each ``check_*`` function takes a student's function with the signature of the package's
function of the same name (:mod:`vae_tutorial.losses`, or
:func:`~vae_tutorial.estimators.log_likelihood`) and runs it on generated inputs:

* **against the package's reference**, over batch shapes (one example, a batch, two batch
  dims), K-sample shapes (``K = 5`` samples along dim 0, with ``K``, ``B``, ``D`` and ``L`` all
  different so that a reduction over the wrong dim shows), saturated logits
  (:math:`|\text{logit}| = 40`), underflowing and overflowing weights (:math:`\log w \approx \mp
  1000`), extreme log-variances (:math:`\log\sigma^2 = \pm 30`), in float64 and float32, with
  the tolerances of :data:`TOLERANCES`; the gradients too, in float64;
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

import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from vae_tutorial import losses
from vae_tutorial.estimators import log_likelihood as _log_likelihood
from vae_tutorial.models import VAE, LinearGaussian

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

F64 = torch.float64
# Shape letters of the generated inputs, all different: a sum or logsumexp over the wrong dim
# gives a wrong shape (or, after a reduction, a wrong value) instead of a lucky right one.
K, B, D, L = 5, 3, 7, 2
REDUCTIONS = ("none", "mean", "sum")


@dataclass(frozen=True)
class Tolerance:
    """A case passes where ``|received - expected| <= atol + rtol * |expected|`` elementwise."""

    rtol: float
    atol: float


#: Tolerances per dtype. The reference is computed in float64 from the very inputs the student's
#: function receives (cast to the dtype first), so these bound the student's own rounding:
#: float64 sums of a few terms of size up to 1e13 (``exp(30)``) round at about 1e-16 relative;
#: float32 at about 1e-7, with room for the cancellations of a KL near 0.
TOLERANCES: dict[torch.dtype, Tolerance] = {
    torch.float64: Tolerance(rtol=1e-9, atol=1e-9),
    torch.float32: Tolerance(rtol=1e-4, atol=1e-4),
}


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case: its name, whether it passed and, if not, why."""

    name: str
    passed: bool
    message: str = ""


@dataclass
class Report:
    """Every case run on one student function.

    Attributes:
        function: The name of the student's function.
        results: One :class:`CaseResult` per case, in the order run.
    """

    function: str
    results: list[CaseResult] = field(default_factory=list)

    @property
    def failures(self) -> list[CaseResult]:
        """The failed cases."""
        return [r for r in self.results if not r.passed]

    @property
    def n_failed(self) -> int:
        """How many cases failed."""
        return len(self.failures)

    @property
    def passed(self) -> bool:
        """Whether every case passed."""
        return not self.failures

    @property
    def score(self) -> float:
        """The fraction of cases passed, in [0, 1]."""
        return 1.0 - self.n_failed / max(len(self.results), 1)

    def __str__(self) -> str:
        n = len(self.results)
        if self.passed:
            return f"{self.function}: all {n} cases pass"
        lines = [f"{self.function}: {self.n_failed} of {n} cases fail"]
        lines += [f"  - {r.name}: {r.message}" for r in self.failures]
        return "\n".join(lines)


class SubmissionError(AssertionError):
    """A student's function failed some cases; ``str(error)`` lists them, ``error.report``
    holds the :class:`Report`."""

    def __init__(self, report: Report) -> None:
        super().__init__(str(report))
        self.report = report


# --------------------------------------------------------------------------------------------
# Comparing a received value with the expected one
# --------------------------------------------------------------------------------------------


def _show(t: torch.Tensor, n: int = 6) -> str:
    """A short, readable print of a tensor: its first ``n`` values."""
    flat = t.detach().reshape(-1).to("cpu", F64)
    values = ", ".join(f"{v:.6g}" for v in flat[:n].tolist())
    more = ", ..." if flat.numel() > n else ""
    return f"tensor([{values}{more}]) of shape {tuple(t.shape)}"


def _compare(received: object, expected: torch.Tensor, dtype: torch.dtype) -> str:
    """An empty string where ``received`` matches ``expected``; otherwise why not."""
    if not isinstance(received, torch.Tensor):
        if isinstance(received, (int, float)) and not isinstance(received, bool):
            received = torch.tensor(float(received), dtype=dtype)
        else:
            return f"expected a torch.Tensor, received {type(received).__name__}"
    if received.shape != expected.shape:
        hint = ""
        if received.dim() == 0 and expected.dim() > 0:
            hint = " (a reduction over the batch where none belongs?)"
        elif received.dim() > 0 and expected.dim() == 0:
            hint = " (no reduction over the batch?)"
        elif received.numel() == expected.numel() * D or received.numel() * D == expected.numel():
            hint = " (the event dim not summed, or summed twice?)"
        elif received.shape[:1] == (K,) or expected.shape[:1] == (K,):
            hint = " (the sample dim K, dim 0, kept or reduced over the wrong dim?)"
        return (
            f"expected shape {tuple(expected.shape)}, received shape {tuple(received.shape)}"
            f"{hint}; expected {_show(expected)}, received {_show(received)}"
        )
    if received.dtype != dtype:
        return f"expected dtype {dtype} (the inputs' dtype), received {received.dtype}"
    tol = TOLERANCES[dtype]
    got = received.detach().to(F64)
    exp = expected.to(F64)
    same_inf = torch.isinf(exp) & (got == exp)
    diff = torch.where(same_inf, torch.zeros_like(got), (got - exp).abs())
    bad = ~(diff <= tol.atol + tol.rtol * exp.abs().nan_to_num(posinf=0.0, neginf=0.0))
    if not bool(bad.any()):
        return ""
    flat = int(bad.reshape(-1).nonzero()[0])
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), exp.shape)) if (
        exp.dim()) else ()
    return (
        f"expected {_show(exp)}, received {_show(got)}; first difference at index {index}: "
        f"expected {float(exp.reshape(-1)[flat]):.10g}, "
        f"received {float(got.reshape(-1)[flat]):.10g} (tolerance for "
        f"{str(dtype).replace('torch.', '')}: atol {tol.atol:g} + rtol {tol.rtol:g} * |expected|)"
    )


# --------------------------------------------------------------------------------------------
# The engine: cases x dtypes x reductions, then gradients and properties
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Case:
    name: str
    args: tuple[torch.Tensor, ...]  # float64
    kwargs: dict[str, Any] = field(default_factory=dict)
    dtypes: tuple[torch.dtype, ...] | None = None  # None: every dtype asked for


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` has a parameter ``name`` (or ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in params)


def _fn_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _call(fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[Any, str]:
    """Call the student's function on clones; return (result, error message or "")."""
    clones = [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
    try:
        out = fn(*clones, **kwargs)
    except Exception as error:  # noqa: BLE001 - the student's error is the finding
        return None, f"raised {type(error).__name__}: {error}"
    for i, (a, c) in enumerate(zip(args, clones, strict=True)):
        if isinstance(a, torch.Tensor) and not torch.equal(a.nan_to_num(), c.nan_to_num()):
            return None, f"modified its argument {i + 1} in place"
    return out, ""


def _run(
    fn: Callable[..., Any],
    reference: Callable[..., torch.Tensor],
    cases: Iterable[_Case],
    *,
    reduction: str | None,
    dtypes: Sequence[torch.dtype],
    report: Report,
) -> None:
    """Run ``fn`` and ``reference`` on every case, dtype and reduction; record the results."""
    for dtype in dtypes:
        if dtype not in TOLERANCES:
            raise ValueError(
                f"dtypes must hold dtypes of TOLERANCES {list(TOLERANCES)}; got {dtype}"
            )
    reductions = REDUCTIONS if reduction is None else (reduction,)
    for case in cases:
        for dtype in case.dtypes or dtypes:
            if dtype not in dtypes:
                continue
            args = tuple(a.to(dtype) for a in case.args)
            # the reference sees exactly the student's inputs, in float64
            args64 = tuple(a.to(F64) for a in args)
            for r in reductions:
                expected = reference(*args64, **case.kwargs, reduction=r)
                kwargs = dict(case.kwargs, **({"reduction": r} if reduction is None else {}))
                out, error = _call(fn, args, kwargs)
                message = error or _compare(out, expected, dtype)
                name = f"{case.name}, {str(dtype).replace('torch.', '')}, reduction={r!r}"
                report.results.append(CaseResult(name, not message, message))


def _run_gradient(
    fn: Callable[..., Any],
    reference: Callable[..., torch.Tensor],
    case: _Case,
    names: Sequence[str],
    *,
    reduction: str | None,
    report: Report,
) -> None:
    """Compare the gradient of the sum of ``fn``'s output with the reference's, in float64."""
    r = "none" if reduction is None else reduction
    kwargs = dict(case.kwargs, **({"reduction": r} if reduction is None else {}))
    name = f"{case.name}: gradients with respect to {', '.join(names)}, float64"
    inputs = [a.clone().requires_grad_(True) for a in case.args]
    expected = torch.autograd.grad(
        reference(*inputs, **case.kwargs, reduction=r).sum(), inputs, allow_unused=True
    )
    student = [a.clone().requires_grad_(True) for a in case.args]
    try:
        out = fn(*student, **kwargs)
        if not (isinstance(out, torch.Tensor) and out.requires_grad):
            raise TypeError(
                "the result carries no gradient (a .item(), .detach(), NumPy or float() on "
                "the way?)"
            )
        got = torch.autograd.grad(out.sum(), student, allow_unused=True)
    except Exception as error:  # noqa: BLE001
        report.results.append(CaseResult(name, False, f"raised {type(error).__name__}: {error}"))
        return
    for n, g, e in zip(names, got, expected, strict=True):
        e = torch.zeros_like(case.args[0]) if e is None else e
        g = torch.zeros_like(e) if g is None else g
        message = _compare(g, e, F64)
        if message:
            report.results.append(CaseResult(name, False, f"d/d{n}: {message}"))
            return
    report.results.append(CaseResult(name, True))


def _finish(report: Report, raise_on_failure: bool) -> Report:
    if raise_on_failure and not report.passed:
        raise SubmissionError(report)
    return report


def _one(
    fn: Callable[..., Any],
    args: Sequence[Any],
    kwargs: dict[str, Any],
    reduction: str | None,
) -> tuple[float | None, str]:
    """The student's value for ONE example (batch size 1), whatever its reduction."""
    kw = dict(kwargs, **({"reduction": "none"} if reduction is None else {}))
    out, error = _call(fn, args, kw)
    if error:
        return None, error
    if isinstance(out, (int, float)) and not isinstance(out, bool):
        return float(out), ""
    if not isinstance(out, torch.Tensor):
        return None, f"expected a torch.Tensor, received {type(out).__name__}"
    if out.numel() != 1:
        return None, f"returned shape {tuple(out.shape)} for one example (expected one value)"
    return float(out.detach().reshape(())), ""


def _prop(report: Report, name: str, ok: bool, message: str) -> None:
    report.results.append(CaseResult(f"[property] {name}", ok, "" if ok else message))


# --------------------------------------------------------------------------------------------
# Generated inputs
# --------------------------------------------------------------------------------------------


def _rand(g: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(shape, generator=g, dtype=F64)


def _binary(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(shape, generator=g, dtype=F64).round()


def _extreme_logvar(*shape: int) -> torch.Tensor:
    # log-variances +-30 alternating (variances 1e-13 and 1e13), and +-10 in between
    pattern = torch.tensor([-30.0, 30.0, -10.0, 10.0], dtype=F64)
    n = math.prod(shape)
    return pattern.repeat(n // 4 + 1)[:n].reshape(shape)


def _saturated_logits(g: torch.Generator, x: torch.Tensor) -> torch.Tensor:
    # |logit| = 40 (sigmoid rounds to 1 in float64 and float32), agreeing with x or not
    sign = torch.where(torch.rand(x.shape, generator=g, dtype=F64) < 0.5, -1.0, 1.0)
    return 40.0 * sign.to(F64)


def _gaussian_cases(g: torch.Generator) -> list[_Case]:
    """(x, mu, logvar) cases for log_normal_diag."""
    cases = []
    for shape, what in (((B, L), f"B={B}, L={L}"), ((1, L), "one example"),
                        ((2, B, L), "two batch dims")):
        cases.append(_Case(f"typical ({what})", (_rand(g, *shape), _rand(g, *shape),
                                                 _rand(g, *shape))))
    cases.append(_Case(f"K samples x (K={K}, B={B}, L={L}) against mu, logvar (B, L)",
                       (_rand(g, K, B, L), _rand(g, B, L), _rand(g, B, L))))
    lv = _extreme_logvar(B, 4)
    mu = _rand(g, B, 4)
    cases.append(_Case("extreme log-variances (logvar = +-30, +-10)",
                       (mu + torch.exp(0.5 * lv) * _rand(g, B, 4), mu, lv)))
    return cases


def _kl_cases(g: torch.Generator) -> list[_Case]:
    """(mu, logvar) cases for kl_normal_std_normal."""
    return [
        _Case(f"typical (B={B}, L={L})", (_rand(g, B, L), _rand(g, B, L))),
        _Case("one example", (_rand(g, 1, L), _rand(g, 1, L))),
        _Case("two batch dims", (_rand(g, 2, B, L), _rand(g, 2, B, L))),
        _Case("extreme log-variances (logvar = +-30, +-10)", (_rand(g, B, 4),
                                                              _extreme_logvar(B, 4))),
        _Case("q = p (KL = 0)", (torch.zeros(B, L, dtype=F64), torch.zeros(B, L, dtype=F64))),
        _Case("far means (|mu| ~ 1000)", (_rand(g, B, L, scale=1000.0), _rand(g, B, L))),
    ]


def _elbo_cases(g: torch.Generator, *, samples: bool, beta: bool, grey: bool) -> list[_Case]:
    """(x, logits, mu, logvar) cases for elbo."""
    cases = []
    x = _binary(g, B, D)
    cases.append(_Case(f"typical (B={B}, D={D}, L={L}, one sample)",
                       (x, _rand(g, B, D, scale=2.0), _rand(g, B, L), _rand(g, B, L))))
    cases.append(_Case("one example", (_binary(g, 1, D), _rand(g, 1, D), _rand(g, 1, L),
                                       _rand(g, 1, L))))
    cases.append(_Case("two batch dims", (_binary(g, 2, B, D), _rand(g, 2, B, D),
                                          _rand(g, 2, B, L), _rand(g, 2, B, L))))
    if grey:
        cases.append(_Case("grey targets in [0, 1]", (torch.rand(B, D, generator=g, dtype=F64),
                                                       _rand(g, B, D), _rand(g, B, L),
                                                       _rand(g, B, L))))
    cases.append(_Case("saturated logits (|logit| = 40)",
                       (x, _saturated_logits(g, x), _rand(g, B, L), _rand(g, B, L))))
    cases.append(_Case("extreme log-variances (logvar = +-30, +-10)",
                       (x, _rand(g, B, D), _rand(g, B, 4), _extreme_logvar(B, 4))))
    if samples:
        cases.append(_Case(f"K samples: logits (K={K}, B={B}, D={D})",
                           (x, _rand(g, K, B, D, scale=2.0), _rand(g, B, L), _rand(g, B, L))))
        cases.append(_Case(f"K samples with saturated logits (K={K})",
                           (x, _saturated_logits(g, x.expand(K, B, D)), _rand(g, B, L),
                            _rand(g, B, L))))
    if beta:
        for b in (0.5, 2.0):
            cases.append(_Case(f"beta = {b}", (x, _rand(g, B, D), _rand(g, B, L),
                                               _rand(g, B, L)), {"beta": b}))
    return cases


def _weight_cases(g: torch.Generator, *, zero_weight: bool) -> list[_Case]:
    """Log weight cases (K, *batch) for elbo_mc and iwae_bound."""
    cases = [
        _Case(f"typical (K={K}, B={B})", (_rand(g, K, B, scale=2.0),)),
        _Case("K = 1", (_rand(g, 1, B),)),
        _Case(f"two batch dims (K={K}, 2, {B})", (_rand(g, K, 2, B),)),
        _Case("one example", (_rand(g, K, 1),)),
        _Case("underflowing weights (log w = -1000 + N(0, 1))", (-1000.0 + _rand(g, K, B),)),
        _Case("overflowing weights (log w = +800 + N(0, 1))", (800.0 + _rand(g, K, B),)),
        _Case("spread weights (log w ~ N(0, 30^2))", (_rand(g, K, B, scale=30.0),)),
    ]
    if zero_weight:
        lw = _rand(g, K, B)
        lw[1, 0] = -math.inf
        lw[3, 2] = -math.inf
        cases.append(_Case("zero weights among others (log w = -inf)", (lw,)))
    return cases


# --------------------------------------------------------------------------------------------
# Models with exact evidence
# --------------------------------------------------------------------------------------------


def tiny_bernoulli_vae(*, latent_dim: int = 2, seed: int = 0) -> VAE:
    r"""A small Bernoulli :class:`~vae_tutorial.models.VAE` (``D = 8``, 16 hidden units,
    ``L = 1`` or ``2``) in float64 whose :math:`\log p(x)` :func:`quadrature_log_evidence`
    computes exactly.

    The weights are drawn under ``seed`` (the global random state is left as it was); the
    decoder's output layer is scaled by 3, so that the posterior is narrower than the prior and
    the bounds have a gap to show.

    Args:
        latent_dim: L, 1 or 2 (quadrature costs :math:`n^L` decoder calls).
        seed: Seed of the weights.

    Returns:
        The model, in evaluation mode.

    Raises:
        ValueError: If ``latent_dim`` is not 1 or 2.

    Examples:
        >>> from vae_tutorial import testing
        >>> model = testing.tiny_bernoulli_vae()
        >>> model.data_dim, model.latent_dim
        (8, 2)
    """
    if latent_dim not in (1, 2):
        raise ValueError(f"latent_dim must be 1 or 2 (quadrature on a grid); got {latent_dim}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = VAE(data_dim=8, hidden_dim=16, latent_dim=latent_dim, activation="tanh")
    model = model.to(F64).eval()
    with torch.no_grad():
        model.decoder[-1].weight.mul_(3.0)
    return model


def vae_log_joint(model: VAE, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r""":math:`\log p_\theta(x, z) = \log p_\theta(x \mid z) + \log \mathcal{N}(z; 0, I)` of a
    Bernoulli VAE, from its decoder.

    Shape:
        - x: :math:`(B, D)`; z: :math:`(*, B, L)` or broadcastable, e.g. ``(N, 1, L)``.
        - Output: the broadcast batch shape, e.g. ``(N, B)``.

    Returns:
        The log joint density in nats.
    """
    # \log p(x, z) = \log p(x|z) + \log p(z)
    return losses.log_bernoulli(x, model.decode(z)) + losses.log_standard_normal(z)


@torch.no_grad()
def quadrature_log_evidence(
    model: VAE, x: torch.Tensor, *, n_per_dim: int = 120, lim: float = 7.0
) -> torch.Tensor:
    r"""The exact :math:`\log p_\theta(x)` of a VAE with a 1-D or 2-D latent, by the midpoint
    rule on a grid over :math:`[-\text{lim}, \text{lim}]^L`.

    .. math::
        \log p(x) \approx \log \Delta^L
        + \operatorname{logsumexp}_n \big[\log p(x \mid z_n) + \log p(z_n)\big]

    The integrand is smooth and its Gaussian tails are below :math:`e^{-24}` at the edges, so the
    rule converges fast, far beyond any Monte Carlo estimate: for :func:`tiny_bernoulli_vae` the
    defaults (120 points per axis) agree with 800 points on :math:`[-8, 8]^2` to 1e-10 nats (the
    tests check it), and with Monte Carlo from the prior within its standard error.

    Args:
        model: A Bernoulli :class:`~vae_tutorial.models.VAE` with ``latent_dim`` 1 or 2.
        x: Data in [0, 1].
        n_per_dim: Grid points per latent axis.
        lim: Half-width of the grid, in prior standard deviations.

    Shape:
        - x: :math:`(B, D)`.
        - Output: :math:`(B)`.

    Returns:
        :math:`\log p_\theta(x)` in nats per example.

    Raises:
        ValueError: If the model's latent dim is not 1 or 2.

    Examples:
        >>> import torch
        >>> from vae_tutorial import estimators, testing
        >>> model = testing.tiny_bernoulli_vae()
        >>> x = torch.tensor([[1.0, 0, 1, 1, 0, 0, 1, 0]], dtype=torch.float64)
        >>> exact = testing.quadrature_log_evidence(model, x)
        >>> round(float(exact), 4)                          # nats
        -5.8503
        >>> iwae = estimators.log_likelihood(model, x, k=20000, chunk_size=5000)
        >>> bool(abs(iwae - exact) < 0.03)                  # Monte Carlo, 20,000 samples
        True
    """
    if model.latent_dim not in (1, 2):
        raise ValueError(f"model.latent_dim must be 1 or 2; got {model.latent_dim}")
    p = next(model.parameters())
    x = x.to(p.dtype)
    step = 2.0 * lim / n_per_dim
    axis = -lim + step * (torch.arange(n_per_dim, dtype=p.dtype) + 0.5)  # (n,)
    grid = torch.cartesian_prod(*([axis] * model.latent_dim)).reshape(-1, model.latent_dim)
    chunks = [vae_log_joint(model, x, z.unsqueeze(1)) for z in grid.split(20000)]  # (N, B)
    # \log p(x) \approx \log \Delta^L + logsumexp_n \log p(x, z_n)
    return model.latent_dim * math.log(step) + torch.logsumexp(torch.cat(chunks), dim=0)


def _lg_weights(
    n: int, k: int, seed: int
) -> tuple[list[torch.Tensor], float]:
    """``n`` draws of ``k`` log weights (K, 1) for one x of a linear-Gaussian model, and the
    exact log p(x). The proposal q is diagonal, its mean half a posterior standard deviation off
    and its variances twice the posterior's: the IWAE gap falls from about 0.5 nats at K = 1 to
    about 0.01 at K = 64."""
    model = LinearGaussian.random(data_dim=3, latent_dim=2, noise_std=0.7, seed=3)
    x = torch.tensor([[1.5, -0.5, 0.8]], dtype=F64)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        post_mean, cov = model.posterior(x)  # (1, L), (L, L)
        mean = post_mean + 0.5 * torch.diagonal(cov).sqrt()
        logvar = torch.log(2.0 * torch.diagonal(cov)).expand_as(mean)
        exact = float(model.log_evidence(x))
        draws = []
        for _ in range(n):
            z = mean + torch.exp(0.5 * logvar) * torch.randn(k, 1, 2, generator=g, dtype=F64)
            # \log w = \log p(x, z) - \log q(z | x)
            draws.append(model.log_joint(x, z) - losses.log_normal_diag(z, mean, logvar))
    return draws, exact


# --------------------------------------------------------------------------------------------
# Properties that need no reference
# --------------------------------------------------------------------------------------------


def _kl_properties(fn: Callable[..., Any], reduction: str | None, report: Report,
                   two_gaussians: bool, seed: int) -> None:
    g = torch.Generator().manual_seed(seed + 1)
    worst, at = math.inf, None
    for _ in range(50):
        mu, lv = _rand(g, 1, L, scale=2.0), _rand(g, 1, L, scale=3.0)
        args = (mu, lv, _rand(g, 1, L), _rand(g, 1, L)) if two_gaussians else (mu, lv)
        value, error = _one(fn, args, {}, reduction)
        if error:
            _prop(report, "KL >= 0 on 50 random Gaussians", False, error)
            return
        if value < worst:
            worst, at = value, args
    _prop(report, "KL >= 0 on 50 random Gaussians", worst >= -1e-12,
          f"expected KL >= 0, received {worst:.6g} at mu, logvar = "
          f"{[a.tolist() for a in at] if at else None}")
    mu, lv = _rand(g, 1, L), _rand(g, 1, L)
    args = (mu, lv, mu, lv) if two_gaussians else (torch.zeros(1, L, dtype=F64),) * 2
    value, error = _one(fn, args, {}, reduction)
    _prop(report, "KL = 0 where q = p", not error and abs(value) <= 1e-12,
          error or f"expected 0, received {value:.6g}")


def _batch_mean(
    fn: Callable[..., Any], args: Sequence[Any], reduction: str | None, n: int
) -> tuple[float | None, str]:
    """The mean of the student's per-example values over a batch of ``n``, whatever its
    reduction."""
    kw = {"reduction": "none"} if reduction is None else {}
    out, error = _call(fn, args, kw)
    if error:
        return None, error
    if not isinstance(out, torch.Tensor):
        return None, f"expected a torch.Tensor, received {type(out).__name__}"
    expected = (n,) if reduction in (None, "none") else ()
    if out.shape != expected:
        return None, f"returned shape {tuple(out.shape)} for a batch of {n} (expected {expected})"
    value = float(out.detach().to(F64).mean())
    return (value / n if reduction == "sum" else value), ""


def _elbo_properties(fn: Callable[..., Any], reduction: str | None, report: Report,
                     seed: int, negative: bool = False) -> None:
    """The ELBO of any q is below the exact log p(x) of the tiny VAE (Monte Carlo, 5 SE)."""
    model = tiny_bernoulli_vae()
    g = torch.Generator().manual_seed(seed + 2)
    xs = torch.tensor([[1.0, 0, 1, 1, 0, 0, 1, 0], [0.0, 0, 0, 1, 1, 1, 1, 0]], dtype=F64)
    exact = quadrature_log_evidence(model, xs)
    qs = [([0.0, 0.0], [0.0, 0.0]), ([2.0, -1.5], [-2.0, -2.0]), ([-1.0, 0.5], [1.0, 1.0])]
    n = 4000
    name = ("-ELBO above the exact -log p(x)" if negative else
            "ELBO below the exact log p(x)") + " for 6 pairs (x, q), tiny Bernoulli VAE"
    with torch.no_grad():
        for i in range(xs.shape[0]):
            # one sample of z per row: a batch of n copies of x, each with its own sample
            x = xs[i].expand(n, -1).contiguous()
            for m, v in qs:
                mu = torch.tensor(m, dtype=F64).expand(n, -1)
                lv = torch.tensor(v, dtype=F64).expand(n, -1)
                z = mu + torch.exp(0.5 * lv) * torch.randn(n, 2, generator=g, dtype=F64)
                logits = model.decode(z)  # (n, D)
                value, error = _batch_mean(fn, (x, logits, mu, lv), reduction, n)
                if error:
                    _prop(report, name, False, error)
                    return
                value = -value if negative else value
                # the Monte Carlo standard error of the mean over n samples
                se = float(losses.log_bernoulli(x, logits).std()) / math.sqrt(n)
                if value > float(exact[i]) + 5 * se + 1e-9:
                    _prop(report, name, False,
                          f"at x = {xs[i].tolist()}, q = N({m}, diag exp({v})): expected at "
                          f"most log p(x) = {float(exact[i]):.6g} (+5 SE = {5 * se:.2g}), "
                          f"received {value:.6g}")
                    return
    _prop(report, name, True, "")


def _weights_properties(fn: Callable[..., Any], reduction: str | None, report: Report,
                        seed: int, iwae: bool) -> None:
    g = torch.Generator().manual_seed(seed + 3)
    lw = _rand(g, K, 1, scale=2.0)
    # K = 1: the single log weight
    value, error = _one(fn, (lw[:1],), {}, reduction)
    _prop(report, "K = 1 gives the log weight itself", not error and abs(value - float(lw[0]))
          <= 1e-12, error or f"expected {float(lw[0]):.10g}, received {value:.10g}")
    # K equal weights: that weight
    same = torch.full((K, 1), -3.25, dtype=F64)
    value, error = _one(fn, (same,), {}, reduction)
    _prop(report, f"K = {K} equal log weights -3.25 give -3.25", not error and
          abs(value + 3.25) <= 1e-12, error or f"expected -3.25, received {value:.10g}")
    # a constant added to every log weight shifts the result by it (also at -1000)
    base, err1 = _one(fn, (lw,), {}, reduction)
    if err1:
        _prop(report, "the value on K unequal weights", False, err1)
        return
    shifted, err2 = _one(fn, (lw - 1000.0,), {}, reduction)
    ok = not err2 and abs(shifted - (base - 1000.0)) <= 1e-9 * 1000
    _prop(report, "log w - 1000 shifts the result by -1000 (weights that underflow)", ok,
          err2 or f"expected {base - 1000.0:.10g}, received {shifted:.10g}")
    # the order of the samples does not matter
    perm, error = _one(fn, (lw.flip(0),), {}, reduction)
    _prop(report, "the order of the K samples does not matter", not error and
          abs(perm - base) <= 1e-12 * max(1.0, abs(base)),
          error or f"expected {base:.10g} (samples reversed), received {perm:.10g}")
    mean = float(lw.mean())
    if iwae:
        # Jensen: log mean w >= mean log w, strictly for unequal weights
        _prop(report, "above the mean of the log weights (Jensen), strictly for unequal ones",
              base > mean + 1e-6, f"expected more than mean log w = {mean:.10g}, "
              f"received {base:.10g}")
    else:
        _prop(report, "the mean of the log weights", abs(base - mean) <= 1e-12,
              f"expected mean log w = {mean:.10g}, received {base:.10g}")
    # in expectation: rising with K towards the exact log p(x), never above it
    ks = (1, 4, 16, 64)
    rows = []
    for k in ks:
        draws, exact = _lg_weights(300, k, seed + 10 + k)
        values = []
        for w in draws:
            value, error = _one(fn, (w,), {}, reduction)
            if error:
                _prop(report, "rising with K to log p(x) (linear-Gaussian)", False, error)
                return
            values.append(value)
        v = torch.tensor(values, dtype=F64)
        rows.append((k, float(v.mean()), float(v.std()) / math.sqrt(len(values))))
    table = ", ".join(f"K={k}: {m:.4f} +- {s:.4f}" for k, m, s in rows)
    above = [(k, m, s) for k, m, s in rows if m > exact + 5 * s + 1e-9]
    _prop(report, "never above the exact log p(x) in expectation (linear-Gaussian, 300 draws)",
          not above, f"expected at most log p(x) = {exact:.4f}; received means {table}")
    if iwae:
        falls = [(a, b) for a, b in zip(rows, rows[1:], strict=False)
                 if b[1] < a[1] - 5 * math.hypot(a[2], b[2])]
        gap_1, gap_64 = exact - rows[0][1], exact - rows[-1][1]
        ok = not falls and gap_64 < 0.5 * gap_1
        _prop(report, "rising with K towards the exact log p(x) (linear-Gaussian, 300 draws)", ok,
              f"expected means rising with K and the gap to log p(x) = {exact:.4f} at K = 64 "
              f"under half the gap at K = 1; received {table}")


# --------------------------------------------------------------------------------------------
# The checks, one per function of the homework API
# --------------------------------------------------------------------------------------------

_COMMON_ARGS = """
    Args:
        fn: The student's function, with the signature of the package's function.
        reduction: ``None`` (default): ``fn`` takes the keyword ``reduction`` and is checked
            with ``"none"``, ``"mean"`` and ``"sum"``. ``"none"``, ``"mean"`` or ``"sum"``:
            ``fn`` is called without it and must perform that reduction.
        dtypes: The dtypes to check, among those of :data:`TOLERANCES`.
        reference: Compare with the package's function on generated inputs (default).
        properties: Check the properties that need no reference (default).
        seed: Seed of the generated inputs.
        raise_on_failure: Raise :class:`SubmissionError` if a case fails (default); else only
            return the report.

    Returns:
        The :class:`Report`.

    Raises:
        SubmissionError: If a case fails and ``raise_on_failure`` is true.
"""

_DTYPES = (torch.float64, torch.float32)


def _check(
    fn: Callable[..., Any],
    name: str,
    reference: Callable[..., torch.Tensor],
    cases: Callable[[torch.Generator], list[_Case]],
    grad_names: Sequence[str],
    properties: Callable[[Report], None] | None,
    *,
    reduction: str | None,
    dtypes: Sequence[torch.dtype],
    use_reference: bool,
    seed: int,
    raise_on_failure: bool,
) -> Report:
    if reduction is not None and reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be None, 'none', 'mean' or 'sum'; got {reduction!r}")
    if not callable(fn):
        raise TypeError(f"fn must be a function; got {type(fn).__name__}")
    report = Report(_fn_name(fn))
    if use_reference:
        generated = cases(torch.Generator().manual_seed(seed))
        _run(fn, reference, generated, reduction=reduction, dtypes=dtypes, report=report)
        _run_gradient(fn, reference, generated[0], grad_names, reduction=reduction,
                      report=report)
    if properties is not None:
        properties(report)
    return _finish(report, raise_on_failure)


def check_log_normal_diag(fn: Callable[..., Any], *, reduction: str | None = None,
                          dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                          properties: bool = True, seed: int = 0,
                          raise_on_failure: bool = True) -> Report:
    r"""Check a student's :func:`~vae_tutorial.losses.log_normal_diag` ``(x, mu, logvar)``.

    Cases: batch shapes, K samples of ``x`` against ``(B, L)`` parameters, log-variances
    :math:`\pm 30`. Property: the density of a 1-D Gaussian integrates to 1 (quadrature).
    """

    def props(report: Report) -> None:
        grid = torch.linspace(-12, 12, 4801, dtype=F64)
        mu, lv = torch.tensor([[0.7]], dtype=F64), torch.tensor([[0.4]], dtype=F64)
        total = 0.0
        for x in grid[::40]:
            value, error = _one(fn, (x.reshape(1, 1), mu, lv), {}, reduction)
            if error:
                _prop(report, "the density integrates to 1", False, error)
                return
            total += math.exp(value) * float(grid[40] - grid[0])
        _prop(report, "the density integrates to 1 (1-D, midpoint rule)", abs(total - 1) < 1e-3,
              f"expected 1, received {total:.6g}")

    return _check(fn, "log_normal_diag", losses.log_normal_diag, _gaussian_cases,
                  ("x", "mu", "logvar"), props if properties else None, reduction=reduction,
                  dtypes=dtypes, use_reference=reference, seed=seed,
                  raise_on_failure=raise_on_failure)


def check_log_standard_normal(fn: Callable[..., Any], *, reduction: str | None = None,
                              dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                              properties: bool = True, seed: int = 0,
                              raise_on_failure: bool = True) -> Report:
    """Check a student's :func:`~vae_tutorial.losses.log_standard_normal` ``(z)``."""

    def cases(g: torch.Generator) -> list[_Case]:
        return [_Case(f"typical (B={B}, L={L})", (_rand(g, B, L),)),
                _Case("one example", (_rand(g, 1, L),)),
                _Case(f"K samples (K={K}, B={B}, L={L})", (_rand(g, K, B, L),)),
                _Case("far from the mean (|z| ~ 1000)", (_rand(g, B, L, scale=1000.0),))]

    return _check(fn, "log_standard_normal", losses.log_standard_normal, cases, ("z",), None,
                  reduction=reduction, dtypes=dtypes, use_reference=reference, seed=seed,
                  raise_on_failure=raise_on_failure)


def check_log_bernoulli(fn: Callable[..., Any], *, reduction: str | None = None,
                        dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                        properties: bool = True, grey_targets: bool = False, seed: int = 0,
                        raise_on_failure: bool = True) -> Report:
    """Check a student's :func:`~vae_tutorial.losses.log_bernoulli` ``(x, logits)``.

    Cases: binary targets (grey targets in [0, 1] too with ``grey_targets=True``: the package
    accepts them, ``torch.distributions.Bernoulli`` refuses them), saturated logits, K-sample
    logits against ``(B, D)`` targets, batch shapes. Property: the probabilities of 0 and 1 sum
    to 1.
    """

    def cases(g: torch.Generator) -> list[_Case]:
        x = _binary(g, B, D)
        out = [_Case(f"typical (B={B}, D={D})", (x, _rand(g, B, D, scale=2.0))),
               _Case("one example", (_binary(g, 1, D), _rand(g, 1, D))),
               _Case("two batch dims", (_binary(g, 2, B, D), _rand(g, 2, B, D))),
               _Case("saturated logits (|logit| = 40)", (x, _saturated_logits(g, x))),
               _Case(f"K samples: logits (K={K}, B={B}, D={D}) against x (B, D)",
                     (x, _rand(g, K, B, D)))]
        if grey_targets:
            out.append(_Case("grey targets in [0, 1]",
                             (torch.rand(B, D, generator=g, dtype=F64), _rand(g, B, D))))
        return out

    def props(report: Report) -> None:
        logits = torch.tensor([[-3.0, 0.0, 2.5]], dtype=F64)
        totals = []
        for j in range(3):
            total = 0.0
            for bit in (0.0, 1.0):
                x = torch.tensor([[bit]], dtype=F64)
                value, error = _one(fn, (x, logits[:, j : j + 1]), {}, reduction)
                if error:
                    _prop(report, "p(x = 0) + p(x = 1) = 1", False, error)
                    return
                total += math.exp(value)
            totals.append(total)
        _prop(report, "p(x = 0) + p(x = 1) = 1 for logits -3, 0, 2.5",
              all(abs(t - 1) < 1e-9 for t in totals), f"expected 1, received {totals}")

    return _check(fn, "log_bernoulli", losses.log_bernoulli, cases, ("x", "logits"),
                  props if properties else None, reduction=reduction, dtypes=dtypes,
                  use_reference=reference, seed=seed, raise_on_failure=raise_on_failure)


def check_kl_normal_std_normal(fn: Callable[..., Any], *, reduction: str | None = None,
                               dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                               properties: bool = True, seed: int = 0,
                               raise_on_failure: bool = True) -> Report:
    r"""Check a student's :func:`~vae_tutorial.losses.kl_normal_std_normal` ``(mu, logvar)``.

    Cases: batch shapes, log-variances :math:`\pm 30`, far means, :math:`q = p`. Properties:
    KL :math:`\ge 0`, zero at :math:`q = \mathcal{N}(0, I)`.
    """
    return _check(fn, "kl_normal_std_normal", losses.kl_normal_std_normal, _kl_cases,
                  ("mu", "logvar"),
                  (lambda r: _kl_properties(fn, reduction, r, False, seed)) if properties
                  else None, reduction=reduction, dtypes=dtypes, use_reference=reference,
                  seed=seed, raise_on_failure=raise_on_failure)


def check_kl_normal_normal(fn: Callable[..., Any], *, reduction: str | None = None,
                           dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                           properties: bool = True, seed: int = 0,
                           raise_on_failure: bool = True) -> Report:
    r"""Check a student's :func:`~vae_tutorial.losses.kl_normal_normal`
    ``(mu_q, logvar_q, mu_p, logvar_p)``.

    Cases: batch shapes, a prior ``(L,)`` shared by the batch, log-variances :math:`\pm 30`,
    :math:`q = p`. Properties: KL :math:`\ge 0`, zero at :math:`q = p`.
    """

    def cases(g: torch.Generator) -> list[_Case]:
        mu, lv = _rand(g, B, L), _rand(g, B, L)
        return [_Case(f"typical (B={B}, L={L})", (mu, lv, _rand(g, B, L), _rand(g, B, L))),
                _Case("one example", (_rand(g, 1, L), _rand(g, 1, L), _rand(g, 1, L),
                                      _rand(g, 1, L))),
                _Case("a prior (L,) shared by the batch", (mu, lv, _rand(g, L), _rand(g, L))),
                _Case("extreme log-variances (logvar = +-30, +-10)",
                      (_rand(g, B, 4), _extreme_logvar(B, 4), _rand(g, B, 4),
                       _extreme_logvar(B, 4).flip(-1))),
                _Case("q = p (KL = 0)", (mu, lv, mu.clone(), lv.clone()))]

    return _check(fn, "kl_normal_normal", losses.kl_normal_normal, cases,
                  ("mu_q", "logvar_q", "mu_p", "logvar_p"),
                  (lambda r: _kl_properties(fn, reduction, r, True, seed)) if properties
                  else None, reduction=reduction, dtypes=dtypes, use_reference=reference,
                  seed=seed, raise_on_failure=raise_on_failure)


def check_elbo(fn: Callable[..., Any], *, reduction: str | None = None,
               dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
               properties: bool = True, samples: bool = True, grey_targets: bool = False,
               seed: int = 0, raise_on_failure: bool = True) -> Report:
    r"""Check a student's :func:`~vae_tutorial.losses.elbo` ``(x, logits, mu, logvar)``.

    Cases: one sample and ``K = 5`` samples of logits (``samples=False`` leaves those out, for
    a homework with one sample), batch shapes, saturated logits, grey targets with
    ``grey_targets=True`` (as :func:`check_log_bernoulli`), log-variances
    :math:`\pm 30`, ``beta`` 0.5 and 2 where ``fn`` takes ``beta``. Property: below the exact
    :math:`\log p(x)` of :func:`tiny_bernoulli_vae` for every :math:`q` tried.
    """
    beta = _accepts(fn, "beta")
    return _check(fn, "elbo", losses.elbo,
                  lambda g: _elbo_cases(g, samples=samples, beta=beta, grey=grey_targets),
                  ("x", "logits", "mu", "logvar"),
                  (lambda r: _elbo_properties(fn, reduction, r, seed)) if properties else None,
                  reduction=reduction, dtypes=dtypes, use_reference=reference, seed=seed,
                  raise_on_failure=raise_on_failure)


def check_negative_elbo(fn: Callable[..., Any], *, reduction: str | None = None,
                        dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                        properties: bool = True, samples: bool = True,
                        grey_targets: bool = False, seed: int = 0,
                        raise_on_failure: bool = True) -> Report:
    """Check a student's :func:`~vae_tutorial.losses.negative_elbo`, the loss to minimize:
    the cases and property of :func:`check_elbo`, with the sign turned."""
    beta = _accepts(fn, "beta")
    return _check(fn, "negative_elbo", losses.negative_elbo,
                  lambda g: _elbo_cases(g, samples=samples, beta=beta, grey=grey_targets),
                  ("x", "logits", "mu", "logvar"),
                  (lambda r: _elbo_properties(fn, reduction, r, seed, negative=True))
                  if properties else None, reduction=reduction, dtypes=dtypes,
                  use_reference=reference, seed=seed, raise_on_failure=raise_on_failure)


def check_elbo_mc(fn: Callable[..., Any], *, reduction: str | None = None,
                  dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                  properties: bool = True, seed: int = 0,
                  raise_on_failure: bool = True) -> Report:
    """Check a student's :func:`~vae_tutorial.losses.elbo_mc` ``(log_weights)``, samples along
    dim 0.

    Cases: ``(K, B)`` and ``(K, 2, B)`` weights, ``K = 1``, underflowing, overflowing and spread
    weights. Properties: the weight itself at ``K = 1`` and for equal weights, the mean of the
    log weights, a shift by a constant, the order of samples, never above the exact
    :math:`\\log p(x)` of a linear-Gaussian model in expectation.
    """
    return _check(fn, "elbo_mc", losses.elbo_mc, lambda g: _weight_cases(g, zero_weight=False),
                  ("log_weights",),
                  (lambda r: _weights_properties(fn, reduction, r, seed, iwae=False))
                  if properties else None, reduction=reduction, dtypes=dtypes,
                  use_reference=reference, seed=seed, raise_on_failure=raise_on_failure)


def check_iwae_bound(fn: Callable[..., Any], *, reduction: str | None = None,
                     dtypes: Sequence[torch.dtype] = _DTYPES, reference: bool = True,
                     properties: bool = True, seed: int = 0,
                     raise_on_failure: bool = True) -> Report:
    r"""Check a student's :func:`~vae_tutorial.losses.iwae_bound` ``(log_weights)``, samples
    along dim 0.

    Cases: as :func:`check_elbo_mc`, and zero weights (``-inf``) among others. Properties: the
    weight itself at ``K = 1`` and for equal weights, above the mean of unequal log weights
    (Jensen), a shift by a constant (at :math:`-1000`, where weights underflow), the order of
    samples, and in expectation rising with ``K`` towards the exact :math:`\log p(x)` of a
    linear-Gaussian model without passing it.
    """
    return _check(fn, "iwae_bound", losses.iwae_bound,
                  lambda g: _weight_cases(g, zero_weight=True), ("log_weights",),
                  (lambda r: _weights_properties(fn, reduction, r, seed, iwae=True))
                  if properties else None, reduction=reduction, dtypes=dtypes,
                  use_reference=reference, seed=seed, raise_on_failure=raise_on_failure)


for _f in (check_log_normal_diag, check_log_standard_normal, check_log_bernoulli,
           check_kl_normal_std_normal, check_kl_normal_normal, check_elbo, check_negative_elbo,
           check_elbo_mc, check_iwae_bound):
    _f.__doc__ = (_f.__doc__ or "").rstrip() + "\n" + _COMMON_ARGS + (
        "\n    Introduced on the page \"Using the package in homework\".\n")


def check_log_likelihood(
    fn: Callable[..., Any],
    *,
    k: int = 1000,
    seed: int = 0,
    raise_on_failure: bool = True,
) -> Report:
    r"""Check a student's :math:`\log p(x)` estimator with the signature of
    :func:`~vae_tutorial.estimators.log_likelihood`, ``fn(model, x, k)``, against the exact
    :math:`\log p(x)` of :func:`tiny_bernoulli_vae` (by :func:`quadrature_log_evidence`).

    Cases, on 6 images: the shape ``(B,)`` (one value per image, not a mean); the sign (a
    log-likelihood, never its negative); the estimate within the Monte Carlo spread of the
    package's own estimator at the same ``k`` (the mean of 5 seeds, :math:`\pm` 6 standard
    deviations and 0.02 nats) around the exact value; for 1 and 2 latent dims.

    Args:
        fn: The student's estimator, called as ``fn(model, x, k)`` after
            ``torch.manual_seed(seed)``.
        k: Importance samples per image.
        seed: Seed of the global random state before each call.
        raise_on_failure: Raise :class:`SubmissionError` if a case fails (default).

    Returns:
        The :class:`Report`.

    Raises:
        SubmissionError: If a case fails and ``raise_on_failure`` is true.

    Examples:
        >>> from vae_tutorial import estimators, testing
        >>> testing.check_log_likelihood(estimators.log_likelihood, k=200).passed
        True

    Introduced in the chapter "Using the package in homework".
    """
    report = Report(_fn_name(fn))
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(6, 8, generator=g, dtype=F64).round()
    for latent_dim in (1, 2):
        model = tiny_bernoulli_vae(latent_dim=latent_dim, seed=seed)
        exact = quadrature_log_evidence(model, x)
        runs = torch.stack([_log_likelihood(model, x, k, chunk_size=500, seed=s)
                            for s in range(5)])  # (5, B)
        centre, spread = runs.mean(0), runs.std(0)
        low, high = centre - 6 * spread - 0.02, exact + 6 * spread + 0.02
        name = f"tiny Bernoulli VAE (D=8, L={latent_dim}), 6 images, k={k}"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out, error = _call(fn, (model, x, k), {})
        if error:
            report.results.append(CaseResult(name, False, error))
            continue
        if not isinstance(out, torch.Tensor) or out.shape != exact.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            report.results.append(CaseResult(name, False,
                                             f"expected one log p(x) per image, shape "
                                             f"{tuple(exact.shape)}, received {got}"))
            continue
        got = out.detach().to(F64)
        if bool((got > 0).all()) and bool(((-got >= low) & (-got <= high)).all()):
            report.results.append(CaseResult(name, False,
                                             f"received {_show(got)}: the negative of log p(x) "
                                             f"(expected {_show(exact)}); return log p(x), not "
                                             "the negative log-likelihood"))
            continue
        bad = ~((got >= low) & (got <= high))
        if bool(bad.any()):
            i = int(bad.nonzero()[0])
            report.results.append(CaseResult(
                name, False, f"expected log p(x) = {_show(exact)} (exact, by quadrature), "
                f"received {_show(got)}; image {i}: received {float(got[i]):.6g}, accepted "
                f"[{float(low[i]):.6g}, {float(high[i]):.6g}]"))
            continue
        report.results.append(CaseResult(name, True))
    return _finish(report, raise_on_failure)
