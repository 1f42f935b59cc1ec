r"""Training a VAE: seeded, in-memory batches, a tqdm progress bar, history and a best checkpoint.

Introduced in the chapter "A VAE on real digits".
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from vae_tutorial import losses
from vae_tutorial._checks import (
    check_positive_int,
    check_real,
    check_seed,
    check_tensor,
    shape_str,
    validation,
)
from vae_tutorial.models import VAE

__all__ = ["History", "TrainingDivergedError", "evaluate", "seed_everything", "train"]

_OBJECTIVES = ("elbo", "iwae")


class TrainingDivergedError(RuntimeError):
    """Raised when the loss becomes non-finite; the model is restored to its best state first."""


@dataclass
class History:
    """What happened in a training run, in nats per example.

    Attributes:
        epoch: Epoch numbers 1, 2, ...
        train_elbo: Mean training objective per epoch (the ELBO, or the IWAE bound with
            ``objective="iwae"``) over the epoch's batches.
        test_elbo: ELBO on the test set after each epoch (``nan`` when no test set was given).
        best_epoch: Epoch with the highest test ELBO (or training objective without a test set).
        seconds: Wall-clock seconds per epoch.
        checkpoint_path: Where the best model was saved, if a path was given.
    """

    epoch: list[int] = field(default_factory=list)
    train_elbo: list[float] = field(default_factory=list)
    test_elbo: list[float] = field(default_factory=list)
    best_epoch: int = 0
    seconds: list[float] = field(default_factory=list)
    checkpoint_path: Path | None = None


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and torch's generators; return a torch generator seeded alike.

    Args:
        seed: An int in [0, 2**32 - 1], the range NumPy accepts.

    Raises:
        TypeError: If ``seed`` is not an int (a bool, float, str or None).
        ValueError: If ``seed`` is outside [0, 2**32 - 1].

    Examples:
        >>> import torch
        >>> from vae_tutorial import training
        >>> g = training.seed_everything(0)
        >>> a = torch.rand(2)
        >>> _ = training.seed_everything(0)
        >>> torch.equal(a, torch.rand(2))
        True
    """
    import random

    import numpy as np

    check_seed("seed", seed)
    seed = int(seed)  # a NumPy integer too: random.seed takes only Python ints
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@torch.no_grad()
def evaluate(
    model: VAE, x: torch.Tensor, *, batch_size: int = 1000, seed: int = 0, beta: float = 1.0
) -> float:
    r"""Single-sample ELBO of ``model`` on ``x``, averaged over examples, in nats per example.

    Args:
        model: A :class:`~vae_tutorial.models.VAE`.
        x: Images in [0, 1], shape ``(N, D)`` with ``N >= 1``; another floating dtype than the
            model's is converted to the model's.
        batch_size: Examples per forward pass.
        seed: Seed of the posterior samples, so repeated evaluations agree; an int in
            [0, 2**32 - 1].
        beta: KL weight (1 for the ELBO).

    Returns:
        :math:`\frac1N \sum_i \mathcal{L}(x_i)` in nats per example.

    Raises:
        TypeError: If ``x`` is not a floating-point tensor, or ``batch_size``, ``seed`` or
            ``beta`` has the wrong type.
        ValueError: If ``x`` is empty, not ``(N, model.data_dim)``, not finite or outside
            [0, 1], or ``batch_size``, ``seed`` or ``beta`` is out of range.

    Examples:
        >>> import torch
        >>> from vae_tutorial import training
        >>> from vae_tutorial.models import VAE
        >>> _ = training.seed_everything(0)
        >>> model = VAE(data_dim=64, hidden_dim=16, latent_dim=2)
        >>> x = torch.rand(16, 64).round()                   # (N, D) binary images
        >>> elbo = training.evaluate(model, x)               # nats per example
        >>> elbo == training.evaluate(model, x)  # seeded: repeated calls agree
        True
        >>> elbo < 0
        True
    """
    _check_data("x", x, model)
    check_positive_int("batch_size", batch_size)
    check_seed("seed", seed)
    check_real("beta", beta, minimum=0.0)
    x = x.to(next(model.parameters()).dtype)  # data of another dtype: the model's
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    g = torch.Generator(device=device).manual_seed(seed)
    total = 0.0
    for start in range(0, x.shape[0], batch_size):
        xb = x[start : start + batch_size].to(device)
        mu, logvar = model.encode(xb)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g, device=device)
        total += float(losses.elbo(xb, model.decode(z), mu, logvar, beta=beta, reduction="sum"))
    model.train(was_training)
    return total / x.shape[0]


def _check_data(name: str, x: torch.Tensor, model: VAE | None = None) -> None:
    """``check_tensor(name, x, min_dim=2)``, with the finiteness test done in one fast pass; at
    least one example; ``(N, model.data_dim)`` if ``model`` is given."""
    check_tensor(name, x, min_dim=2, finite=False)
    if x.shape[0] == 0:
        raise ValueError(
            f"{name} must hold at least one example (N >= 1); got shape {shape_str(x.shape)}"
        )
    if model is not None and (x.dim() != 2 or x.shape[1] != model.data_dim):
        raise ValueError(
            f"{name} must have shape (N, {model.data_dim}) to match model.data_dim; "
            f"got {shape_str(x.shape)}"
        )
    # a nan or inf anywhere makes the sum nan or inf; only then count them (and raise)
    if not bool(torch.isfinite(x.sum())):
        check_tensor(name, x, min_dim=2)


# Steps between two checks that the training loss is finite (each check is a host-device sync).
_FINITE_CHECK_EVERY = 32


def _adam(params: list[torch.nn.Parameter], lr: float) -> torch.optim.Adam:
    """Adam with the fused kernel (one pass over each parameter), else the foreach one.

    The fused CPU kernel (torch >= 2.4) is several times faster than the per-parameter loop and
    the foreach kernels on the book's model (see benchmarks/train_throughput.py).
    """
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, ValueError, TypeError):  # older torch or an unsupported device
        return torch.optim.Adam(params, lr=lr, foreach=True)


def _objective(model: VAE, xb: torch.Tensor, objective: str, k: int, beta: float) -> torch.Tensor:
    if objective == "elbo":
        logits, mu, logvar = model(xb, n_samples=k if k > 1 else None)
        return losses.elbo(xb, logits, mu, logvar, beta=beta)
    # IWAE: L_K = E[\log (1/K) \sum_k w_k]   (Burda et al. 2016, eq. 8)
    return losses.iwae_bound(model.log_weights(xb, k))


def train(
    model: VAE,
    x_train: torch.Tensor,
    x_test: torch.Tensor | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    beta: float = 1.0,
    objective: str = "elbo",
    k: int = 1,
    dynamic_binarization: bool = True,
    seed: int = 0,
    checkpoint_path: str | os.PathLike[str] | None = None,
    progress: bool = True,
    validate: bool = False,
) -> History:
    r"""Fit ``model`` by maximizing the ELBO (or the IWAE bound) with Adam.

    Each epoch permutes the training set in memory and slices batches from it (no ``DataLoader``,
    no per-item Python work). With ``dynamic_binarization`` every batch is re-binarized,
    :math:`\tilde x \sim \mathrm{Bernoulli}(x)`, a cheap regularizer; the test set is then
    binarized once under ``seed``. After each epoch the test ELBO is measured and, if it is the
    best so far, the model is kept in memory and saved to ``checkpoint_path``. If the loss, the
    parameters after an epoch or the test ELBO become non-finite, the model is restored to that
    best state and :class:`TrainingDivergedError` is raised; the checkpoint on disk is the last
    good one. (Finiteness is checked every 32 steps and at the end of each epoch, every step with
    ``validate=True``; the error names the first non-finite step.) Adam uses torch's fused
    kernel where available.

    Args:
        model: The VAE to train, in place.
        x_train: Training images in [0, 1], ``(N, D)`` with ``N >= 1``; another floating dtype
            than the model's (float64 from NumPy, say) is converted to the model's.
        x_test: Optional test images in [0, 1], ``(M, D)`` with ``M >= 1``, converted alike.
        epochs: Passes over the training set.
        batch_size: Examples per step (B).
        lr: Adam learning rate.
        beta: KL weight (``objective="elbo"`` only); 1 gives the ELBO.
        objective: ``"elbo"`` (Kingma & Welling 2014) or ``"iwae"`` (Burda et al. 2016).
        k: Samples per example (K): averaged in the ELBO, importance-weighted in the IWAE bound.
        dynamic_binarization: Re-sample binary pixels from the grey values every batch.
        seed: Seed of initialization-independent randomness: permutations, noise, binarization;
            an int in [0, 2**32 - 1].
        checkpoint_path: File to save the best ``state_dict`` to (``torch.save``).
        progress: Show a tqdm progress bar.
        validate: Keep the per-call input checks of :mod:`vae_tutorial.losses` on during
            training (off by default for speed; the inputs are checked once up front).

    Returns:
        A :class:`History`; the model ends in its best state (highest test ELBO).

    Raises:
        TypeError: If the data are not floating-point tensors or an argument has the wrong
            type (``seed`` not an int, say).
        ValueError: If arguments are out of range, the data are empty or do not match
            ``model.data_dim``.
        TrainingDivergedError: If the loss, the parameters or the test ELBO become non-finite.

    Examples:
        >>> import torch
        >>> from vae_tutorial import training
        >>> from vae_tutorial.models import VAE
        >>> _ = training.seed_everything(0)
        >>> model = VAE(data_dim=64, hidden_dim=16, latent_dim=2)
        >>> x = torch.rand(48, 64)  # 48 grey images in [0, 1], (N, D)
        >>> history = training.train(model, x[:32], x[32:], epochs=1, batch_size=16,
        ...                          progress=False)
        >>> history.epoch, history.best_epoch
        ([1], 1)
        >>> bool(history.test_elbo[0] < 0)                   # nats per example
        True

    Introduced in the chapter "A VAE on real digits".
    """
    _check_data("x_train", x_train)
    if x_train.shape[1] != model.data_dim:
        raise ValueError(
            f"x_train must have shape (N, {model.data_dim}) to match model.data_dim; "
            f"got {shape_str(x_train.shape)}"
        )
    if x_test is not None:
        _check_data("x_test", x_test)
        if x_test.shape[1:] != x_train.shape[1:]:
            raise ValueError(
                f"x_test must have shape (M, {x_train.shape[1]}); got {shape_str(x_test.shape)}"
            )
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("k", k)):
        check_positive_int(name, value)
    check_real("lr", lr, minimum=0.0)
    check_real("beta", beta, minimum=0.0)
    check_seed("seed", seed)
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective must be 'elbo' or 'iwae'; got {objective!r}")
    for name, x in (("x_train", x_train), ("x_test", x_test)):
        if x is not None and x.numel():
            lo, hi = torch.aminmax(x)  # one pass over the data (it is finite: checked above)
            if lo < 0 or hi > 1:
                raise ValueError(
                    f"{name} must lie in [0, 1]; got values in [{float(lo):.4g}, {float(hi):.4g}]"
                )
    # data of another floating dtype (float64 from NumPy, say) are converted to the model's
    dtype = next(model.parameters()).dtype
    x_train = x_train.to(dtype)
    if x_test is not None:
        x_test = x_test.to(dtype)

    device = next(model.parameters()).device
    g = seed_everything(seed)
    # a CPU generator cannot drive a CUDA kernel: batches on another device are binarized with a
    # generator there (on the CPU this is g itself, so CPU runs draw exactly the same numbers)
    g_device = g if device.type == "cpu" else torch.Generator(device=device).manual_seed(seed)
    x_train = x_train.to(device)
    if x_test is not None and dynamic_binarization:
        g_test = torch.Generator(device=x_test.device).manual_seed(seed)
        x_test = torch.bernoulli(x_test, generator=g_test)
    opt = _adam(list(model.parameters()), lr)
    history = History(checkpoint_path=Path(checkpoint_path) if checkpoint_path else None)
    best_score, best_state = -math.inf, copy.deepcopy(model.state_dict())
    n = x_train.shape[0]
    steps = math.ceil(n / batch_size)
    check_every = 1 if validate else _FINITE_CHECK_EVERY
    model.train()
    # tqdm as a context manager closes the bar however the loop ends (a divergence included).
    with (
        validation(validate),
        tqdm(total=epochs * steps, disable=not progress, desc="training", unit="step") as bar,
    ):
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            perm = torch.randperm(n, generator=g).to(device)
            total = torch.zeros((), device=device)
            pending: list[torch.Tensor] = []  # bounds of the steps since the last finiteness check
            for i in range(steps):
                xb = x_train.index_select(0, perm[i * batch_size : (i + 1) * batch_size])  # (B, D)
                if dynamic_binarization:
                    xb = torch.bernoulli(xb, generator=g_device)
                bound = _objective(model, xb, objective, k, beta)
                opt.zero_grad(set_to_none=True)
                (-bound).backward()
                opt.step()
                pending.append(bound.detach())
                total += pending[-1] * xb.shape[0]
                bar.update()
                # Reading a value back forces a host-device sync, so finiteness is checked every
                # few steps (every step with validate=True) and always before the epoch's end:
                # a non-finite bound makes `total` non-finite, and the model is restored anyway.
                if len(pending) == check_every or i == steps - 1:
                    if not bool(torch.isfinite(total)):
                        first = i + 1 - len(pending)
                        bad = (~torch.isfinite(torch.stack(pending))).nonzero()
                        j = int(bad[0]) if bad.numel() else len(pending) - 1
                        raise _diverged(
                            model, best_state, history,
                            f"non-finite {objective} ({float(pending[j])}) at epoch {epoch}, "
                            f"step {first + j + 1}",
                        )
                    pending.clear()
            train_score = float(total) / n
            # The last step's update can itself break the weights (its loss was still finite).
            if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
                raise _diverged(
                    model, best_state, history, f"non-finite parameters after epoch {epoch}"
                )
            test_score = (
                evaluate(model, x_test, seed=seed, beta=beta) if x_test is not None else math.nan
            )
            if x_test is not None and not math.isfinite(test_score):
                raise _diverged(
                    model, best_state, history, f"non-finite test ELBO after epoch {epoch}"
                )
            history.epoch.append(epoch)
            history.train_elbo.append(train_score)
            history.test_elbo.append(test_score)
            history.seconds.append(time.perf_counter() - start)
            score = test_score if x_test is not None else train_score
            bar.set_postfix(train=f"{train_score:.2f}", test=f"{test_score:.2f}")
            if score > best_score:
                best_score, history.best_epoch = score, epoch
                best_state = copy.deepcopy(model.state_dict())
                if history.checkpoint_path is not None:
                    _save_atomic(best_state, history.checkpoint_path)
    model.load_state_dict(best_state)
    return history


def _diverged(
    model: torch.nn.Module, best_state: dict, history: History, what: str
) -> TrainingDivergedError:
    """Restore the best state and build the error that says where training broke down."""
    model.load_state_dict(best_state)
    kept = history.checkpoint_path
    return TrainingDivergedError(
        f"{what}; model restored to epoch {history.best_epoch}"
        + (f", checkpoint kept at {kept}" if kept else "")
    )


def _save_atomic(state: dict, path: Path) -> None:
    """Write to a temporary file and rename, so a crash never leaves a half-written checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
