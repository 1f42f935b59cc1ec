"""Input validation shared by the package's public functions.

Every check raises ``TypeError`` or ``ValueError`` with a message that names the argument, what
was expected and what came, in the style of ``torch.distributions``. Checks can be switched off
globally with :func:`vae_tutorial.losses.set_validation` for speed.

Under ``torch.func.vmap`` (and the transforms built on it: ``jacrev``, ``jacfwd``, ``hessian``)
a tensor's values cannot be read on the host, so the checks of values (finiteness, Bernoulli
targets in [0, 1]) are skipped there (:func:`read_values`); the checks of types and shapes,
which see the per-example shapes, still run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from numbers import Integral, Real
from typing import TypeVar

import torch

T = TypeVar("T")

_REDUCTIONS = ("none", "mean", "sum")
_VALIDATE = True


def set_validation(enabled: bool) -> None:
    """Switch input validation on (the default) or off for the whole package.

    Args:
        enabled: ``True`` to validate inputs, ``False`` to skip every check (faster, and no
            host-device synchronisation for the finiteness checks).

    Raises:
        TypeError: If ``enabled`` is not a ``bool``.

    Examples:
        >>> from vae_tutorial import losses
        >>> losses.set_validation(False)   # skip the checks, e.g. in a training loop
        >>> losses.is_validation_enabled()
        False
        >>> losses.set_validation(True)    # the default
    """
    global _VALIDATE
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool; got {type(enabled).__name__}")
    _VALIDATE = enabled


def is_validation_enabled() -> bool:
    """Return whether input validation is on.

    Examples:
        >>> from vae_tutorial import losses
        >>> losses.is_validation_enabled()  # on by default
        True
    """
    return _VALIDATE


@contextmanager
def validation(enabled: bool) -> Iterator[None]:
    """Context manager that sets validation on or off and restores the previous setting.

    Examples:
        >>> from vae_tutorial import losses
        >>> with losses.validation(False):
        ...     print(losses.is_validation_enabled())  # checks are skipped in here
        False
        >>> losses.is_validation_enabled()  # restored on leaving the block
        True
    """
    previous = _VALIDATE
    set_validation(enabled)
    try:
        yield
    finally:
        set_validation(previous)


def shape_str(shape: torch.Size | tuple[int, ...]) -> str:
    """Format a shape as ``(4, 20)``, the way messages in this package print shapes."""
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def read_values(check: Callable[[], T]) -> T | None:
    """Run ``check``, which reads tensor values on the host (``bool(t)``, ``int(t)``); return its
    result, or ``None`` where a ``torch.func.vmap`` transform forbids reading values.

    Under ``vmap`` torch raises ``RuntimeError`` ("vmap: ... .item() ...", or data-dependent
    control flow) before anything is read; such a check is skipped, so that validation stays on
    and works under the transform (types and shapes are still checked). Every other error
    propagates.
    """
    try:
        return check()
    except RuntimeError as error:
        if "vmap" in str(error):
            return None
        raise


def check_tensor(
    name: str,
    value: object,
    *,
    min_dim: int = 0,
    finite: bool = True,
    allow_neg_inf: bool = False,
) -> None:
    """Check that ``value`` is a finite floating-point tensor with at least ``min_dim`` dims.

    With ``allow_neg_inf=True``, ``-inf`` is accepted (a log weight of a zero weight); ``nan``
    and ``+inf`` are still refused.
    """
    if not isinstance(value, torch.Tensor):
        # a NumPy array (or anything array-like) is not converted: say how to convert it
        hint = " (convert it with torch.as_tensor)" if hasattr(value, "__array__") else ""
        raise TypeError(f"{name} must be a torch.Tensor; got {type(value).__name__}{hint}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor; got dtype {value.dtype}")
    if value.dim() < min_dim:
        raise ValueError(
            f"{name} must have at least {min_dim} dimension(s) (the last is the event dim); "
            f"got shape {shape_str(value.shape)}"
        )
    if finite:
        if allow_neg_inf:
            bad = read_values(lambda: int((torch.isnan(value) | (value == math.inf)).sum()))
            if bad:
                raise ValueError(
                    f"{name} must be finite or -inf (a zero weight); got {bad} value(s) nan or "
                    f"+inf in a tensor of shape {shape_str(value.shape)}"
                )
            return
        bad = read_values(lambda: int((~torch.isfinite(value)).sum()))
        if bad:
            raise ValueError(
                f"{name} must be finite; got {bad} non-finite value(s) (nan or inf) "
                f"in a tensor of shape {shape_str(value.shape)}"
            )


def check_same_shape(name: str, value: torch.Tensor, ref_name: str, ref: torch.Tensor) -> None:
    """Check that ``value`` has exactly the shape of ``ref``."""
    if value.shape != ref.shape:
        raise ValueError(
            f"{name} must have the shape of {ref_name} {shape_str(ref.shape)}; "
            f"got {shape_str(value.shape)}"
        )


def check_broadcast(
    name: str,
    value: torch.Tensor,
    ref_name: str,
    ref: torch.Tensor,
    *,
    event_size_one: bool = False,
    hint: str = "",
) -> None:
    """Check that ``value`` broadcasts with ``ref`` and agrees with it in the last (event) dim.

    With ``event_size_one=True`` an event dim of size 1 in ``value`` (one number for every
    coordinate, e.g. a shared prior of shape ``(1,)``) is accepted as well. ``hint`` is appended
    to the message.
    """
    try:
        torch.broadcast_shapes(value.shape, ref.shape)
    except RuntimeError:
        ok = False
    else:
        ok = (
            value.dim() == 0
            or ref.dim() == 0
            or value.shape[-1] == ref.shape[-1]
            or (event_size_one and value.shape[-1] == 1)
        )
    if not ok:
        raise ValueError(
            f"{name} must broadcast with {ref_name} {shape_str(ref.shape)} and share its "
            f"last (event) dim; got {shape_str(value.shape)}{hint}"
        )


def check_reduction(reduction: object) -> None:
    """Check that ``reduction`` is one of ``'none'``, ``'mean'``, ``'sum'``."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of 'none', 'mean', 'sum'; got {reduction!r}")


def check_real(name: str, value: object, *, minimum: float | None = None) -> None:
    """Check that ``value`` is a real Python number (not a bool), optionally ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite; got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")


def check_positive_real(name: str, value: object) -> None:
    """Check that ``value`` is a finite real Python number > 0 (not a bool, not a tensor)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(
            f"{name} must be a positive number (a float); got {type(value).__name__} {value!r}"
        )
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number (finite, > 0); got {value}")


# The seeds NumPy accepts (``np.random.seed``), used for every seed in the package.
SEED_MAX = 2**32 - 1


def check_seed(name: str, value: object) -> None:
    """Check that ``value`` is an int in [0, 2**32 - 1] (not a bool), the range NumPy seeds."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(
            f"{name} must be an int in [0, 2**32 - 1]; got {type(value).__name__} {value!r}"
        )
    if not 0 <= value <= SEED_MAX:
        raise ValueError(f"{name} must be an int in [0, 2**32 - 1]; got {value}")


def check_dim(dim: object, name: str, value: torch.Tensor) -> int:
    """Check that ``dim`` is an int indexing a dim of ``value`` (called ``name``); return it."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an int; got {type(dim).__name__} {dim!r}")
    n = value.dim()
    if not -n <= dim < n:
        raise ValueError(
            f"dim must be in [{-n}, {n - 1}] for {name} of shape {shape_str(value.shape)}; "
            f"got {dim}"
        )
    return dim


def check_samples(name: str, value: torch.Tensor, dim: int = 0, minimum: int = 1) -> None:
    """Check that ``value`` holds at least ``minimum`` samples (K) along ``dim``."""
    k = value.shape[dim]
    if k < minimum:
        raise ValueError(
            f"{name} must have at least {minimum} sample{'s' if minimum > 1 else ''} along dim "
            f"{dim} (K >= {minimum}); got shape {shape_str(value.shape)}"
        )


def check_positive_int(name: str, value: object) -> None:
    """Check that ``value`` is a Python int >= 1 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {value}")


def reduce(values: torch.Tensor, reduction: str, name: str = "the input") -> torch.Tensor:
    """Apply ``reduction`` over every (batch) dim of ``values``, computed from ``name``.

    The mean of an empty batch is undefined (0 / 0), so ``reduction="mean"`` raises there, even
    with validation off (the test costs no synchronisation); the sum of an empty batch is 0 and
    ``"none"`` returns the empty tensor, both mathematically right.

    Raises:
        ValueError: If ``reduction="mean"`` and ``values`` is empty.
    """
    if reduction == "none":
        return values
    if reduction == "mean":
        if values.numel() == 0:
            raise ValueError(
                f"reduction='mean' needs at least one example, but {name} has an empty batch "
                f"(batch shape {shape_str(values.shape)}); use reduction='sum' (0 for an empty "
                "batch) or 'none'"
            )
        return values.mean()
    return values.sum()


def check_last_dim(
    name: str, value: torch.Tensor, size: int, what: str, dtype: torch.dtype | None = None
) -> None:
    """Check (under validation) that ``value`` is a float tensor whose last dim is ``size``
    (called ``what``), and of ``dtype`` where one is given."""
    if is_validation_enabled():
        check_tensor(name, value, min_dim=1)
        if value.shape[-1] != size:
            raise ValueError(
                f"{name} must have last dim {what}={size}; got shape {shape_str(value.shape)}"
            )
        if dtype is not None and value.dtype != dtype:
            raise TypeError(
                f"{name} must have the model's dtype {dtype}; got {value.dtype} "
                f"(convert with {name}.to({dtype}) or the model with model.to({value.dtype}))"
            )


# Checks of the homework functions' arguments (vae_tutorial.losses)


def check_targets(x: torch.Tensor, hint: Callable[[], str] | None = None) -> None:
    """Bernoulli targets lie in [0, 1] (skipped under ``torch.func.vmap``: values unreadable);
    ``hint()``, computed only on failure, is appended to the message."""
    if read_values(lambda: bool(((x < 0) | (x > 1)).any())):
        raise ValueError(
            "x must lie in [0, 1] (Bernoulli targets); got values in "
            f"[{float(x.min()):.4g}, {float(x.max()):.4g}]{hint() if hint else ''}"
        )


def check_elbo_shapes(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor) -> None:
    """The shapes of :func:`elbo`'s arguments, each error blaming the one that disagrees."""
    batch = mu.shape[:-1]
    # logits, (B, D) or (K, B, D), and mu agree on the batch and x alone differs: blame x
    agree = logits.shape[:-1] == batch or logits.shape[1:-1] == batch
    if agree and x.shape[:-1] != batch:
        raise ValueError(
            f"x must have the batch shape {shape_str(batch)} of mu {shape_str(mu.shape)} and "
            f"logits {shape_str(logits.shape)}, plus the data dim; got {shape_str(x.shape)}"
        )
    if logits.shape != x.shape and logits.shape[1:] != x.shape:
        hint = ""
        if logits.dim() == x.dim() + 1 and logits.shape[0] == x.shape[0]:
            hint = (
                "; samples go along dim 0, (K, B, D): if yours are (B, K, D), pass "
                "logits.transpose(0, 1)"
            )
        raise ValueError(
            f"logits must have the shape of x {shape_str(x.shape)} or (K, *x.shape); "
            f"got {shape_str(logits.shape)}{hint}"
        )


def order_hint(logits: torch.Tensor) -> str:
    """A hint for targets outside [0, 1] when the logits would pass as targets: swapped?"""
    if read_values(lambda: bool(((logits >= 0) & (logits <= 1)).all())):
        return (
            "; logits lie in [0, 1]: were x and logits swapped? The order is "
            "elbo(x, logits, mu, logvar)"
        )
    return ""


def check_log_weights(log_weights: torch.Tensor) -> None:
    check_tensor("log_weights", log_weights, min_dim=1)


def check_diagonal_gaussian(mu: torch.Tensor, logvar: torch.Tensor, n_samples: int) -> None:
    """``mu`` and ``logvar`` of a diagonal Gaussian ``(*, L)``, and ``n_samples`` >= 1."""
    check_tensor("mu", mu, min_dim=1)
    check_tensor("logvar", logvar, min_dim=1)
    check_same_shape("logvar", logvar, "mu", mu)
    check_positive_int("n_samples", n_samples)


def apply_per_sample(
    name: str, f: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor
) -> torch.Tensor:
    """``f(z)`` for samples ``z`` of shape ``(K, *, L)``, checked to be one value per sample
    ``(K, *)``; the error names the function ``name``."""
    values = f(z)
    if not isinstance(values, torch.Tensor) or values.shape != z.shape[:-1]:
        got = shape_str(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise ValueError(
            f"{name} must map z of shape {shape_str(z.shape)} to one value per sample, shape "
            f"{shape_str(z.shape[:-1])}; got {got}"
        )
    return values
