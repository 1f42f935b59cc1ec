"""Tolerances, case results and reports of the grader's kit, and the engine that runs a
student's function on cases x dtypes x reductions and compares it with the reference.

Part of :mod:`vae_tutorial.testing`; introduced on the page "Using the package in homework".
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

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


def show(t: torch.Tensor, n: int = 6) -> str:
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
            f"{hint}; expected {show(expected)}, received {show(received)}"
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
        f"expected {show(exp)}, received {show(got)}; first difference at index {index}: "
        f"expected {float(exp.reshape(-1)[flat]):.10g}, "
        f"received {float(got.reshape(-1)[flat]):.10g} (tolerance for "
        f"{str(dtype).replace('torch.', '')}: atol {tol.atol:g} + rtol {tol.rtol:g} * |expected|)"
    )


# --------------------------------------------------------------------------------------------
# The engine: cases x dtypes x reductions, then gradients and properties
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[torch.Tensor, ...]  # float64
    kwargs: dict[str, Any] = field(default_factory=dict)
    dtypes: tuple[torch.dtype, ...] | None = None  # None: every dtype asked for


def accepts(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` has a parameter ``name`` (or ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in params)


def fn_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def call(fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[Any, str]:
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


def run(
    fn: Callable[..., Any],
    reference: Callable[..., torch.Tensor],
    cases: Iterable[Case],
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
                out, error = call(fn, args, kwargs)
                message = error or _compare(out, expected, dtype)
                name = f"{case.name}, {str(dtype).replace('torch.', '')}, reduction={r!r}"
                report.results.append(CaseResult(name, not message, message))


def run_gradient(
    fn: Callable[..., Any],
    reference: Callable[..., torch.Tensor],
    case: Case,
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


def finish(report: Report, raise_on_failure: bool) -> Report:
    if raise_on_failure and not report.passed:
        raise SubmissionError(report)
    return report


def one(
    fn: Callable[..., Any],
    args: Sequence[Any],
    kwargs: dict[str, Any],
    reduction: str | None,
) -> tuple[float | None, str]:
    """The student's value for ONE example (batch size 1), whatever its reduction."""
    kw = dict(kwargs, **({"reduction": "none"} if reduction is None else {}))
    out, error = call(fn, args, kw)
    if error:
        return None, error
    if isinstance(out, (int, float)) and not isinstance(out, bool):
        return float(out), ""
    if not isinstance(out, torch.Tensor):
        return None, f"expected a torch.Tensor, received {type(out).__name__}"
    if out.numel() != 1:
        return None, f"returned shape {tuple(out.shape)} for one example (expected one value)"
    return float(out.detach().reshape(())), ""


def prop(report: Report, name: str, ok: bool, message: str) -> None:
    report.results.append(CaseResult(f"[property] {name}", ok, "" if ok else message))


