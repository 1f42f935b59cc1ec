r"""Training a VAE: seeded, in-memory batches, a tqdm progress bar, history and checkpoints
that resume.

A checkpoint (``train(..., checkpoint_path=path)``) is one file, written atomically after every
epoch, that :func:`~vae_tutorial.checkpoints.load_checkpoint` reads and ``resume_from`` continues:
see :mod:`vae_tutorial.checkpoints`.

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
from vae_tutorial.checkpoints import (
    FORMAT,
    CheckpointError,
    CheckpointSaver,
    checked_path,
    history_dict,
    load_checkpoint,
    load_resumable,
    rng_state,
    same_file,
    set_rng_state,
)
from vae_tutorial.models import VAE

__all__ = [
    "CheckpointError",
    "History",
    "TrainingDivergedError",
    "evaluate",
    "load_checkpoint",
    "seed_everything",
    "train",
    "training_step",
]

_OBJECTIVES = ("elbo", "iwae")


class TrainingDivergedError(RuntimeError):
    """Raised when the loss becomes non-finite; the model is restored to its best state first.

    Attributes:
        history: The :class:`History` of the epochs that finished.
    """

    history: History | None = None


@dataclass
class History:
    """What happened in a training run, in nats per example.

    Attributes:
        epoch: Epoch numbers 1, 2, ...
        train_elbo: Mean training objective per epoch (the ELBO, or the IWAE bound with
            ``objective="iwae"``) over the epoch's batches.
        val_elbo: ELBO on the validation data (``x_val``) after each epoch (``nan`` when none
            was given).
        best_epoch: Epoch with the highest validation ELBO (or training objective without
            validation data).
        seconds: Wall-clock seconds per epoch.
        checkpoint_path: Where the checkpoint was saved, if a path was given.
        interrupted: True if training was stopped by ``KeyboardInterrupt`` (Ctrl-C, or the
            notebook's stop button): ``epoch`` lists the epochs that finished, the model is in
            its best state, and the checkpoint (if any) can be resumed with ``resume_from``.
        previous_checkpoint: Where an earlier file found at ``checkpoint_path`` was kept (moved
            aside, ``<name>.previous<suffix>``) because this run did not beat it, or because it
            is not a checkpoint this version can compare; ``None`` if nothing was kept.
        resumed_from: The checkpoint this run continued (``resume_from``), if any.
    """

    epoch: list[int] = field(default_factory=list)
    train_elbo: list[float] = field(default_factory=list)
    val_elbo: list[float] = field(default_factory=list)
    best_epoch: int = 0
    seconds: list[float] = field(default_factory=list)
    checkpoint_path: Path | None = None
    interrupted: bool = False
    previous_checkpoint: Path | None = None
    resumed_from: Path | None = None

    @property
    def test_elbo(self) -> list[float]:
        """Gone (renamed ``val_elbo``, the ELBO on validation data); reading it raises an error."""
        raise AttributeError(
            "History.test_elbo was renamed History.val_elbo: train selects its best epoch on "
            "validation data (x_val), never on the test set"
        )


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
        total += float(_elbo(model, xb, model.decode(z), mu, logvar, beta, reduction="sum"))
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


def _elbo(model: VAE, xb: torch.Tensor, out: torch.Tensor, mu: torch.Tensor,
          logvar: torch.Tensor, beta: float, free_bits: float = 0.0,
          reduction: str = "mean") -> torch.Tensor:
    """The (beta-)ELBO of the model's likelihood; with ``free_bits`` the KL of
    :func:`~vae_tutorial.losses.kl_free_bits` (chapter "VAEs in practice")."""
    if getattr(model, "likelihood", "bernoulli") == "bernoulli" and not free_bits:
        return losses.elbo(xb, out, mu, logvar, beta=beta, reduction=reduction)
    rec = model.decoder_log_prob(xb, out)  # (B,) or (K, B)
    rec = rec.mean(0) if rec.dim() > 1 else rec
    if free_bits:  # reduction "mean": the floor acts on the batch mean of each unit's KL
        return rec.mean() - beta * losses.kl_free_bits(mu, logvar, free_bits=free_bits)
    # L = E_q[\log p(x|z)] - \beta KL(q(z|x) || N(0, I))
    bound = rec - beta * losses.kl_normal_std_normal(mu, logvar, reduction="none")
    return bound.mean() if reduction == "mean" else bound.sum()


def _objective(model: VAE, xb: torch.Tensor, objective: str, k: int, beta: float,
               free_bits: float = 0.0) -> torch.Tensor:
    """The minibatch estimate of the bound (nats per example, the batch mean), not detached."""
    if objective == "elbo":
        logits, mu, logvar = model(xb, n_samples=k if k > 1 else None)
        # \tilde L = (1/B) sum_i [ (1/K) sum_k log p(x_i | z_ik) - beta KL(q(z | x_i) || p(z)) ]
        return _elbo(model, xb, logits, mu, logvar, beta, free_bits)
    # \tilde L_K = (1/B) sum_i log (1/K) sum_k w_ik   (Burda et al. 2016, eq. 8)
    return losses.iwae_bound(model.log_weights(xb, k))


def training_step(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    *,
    objective: str = "elbo",
    k: int = 1,
    beta: float = 1.0,
    free_bits: float = 0.0,
) -> torch.Tensor:
    r"""One step of stochastic gradient ascent on the bound, jointly in :math:`(\theta, \phi)`.

    The body of the loop of Kingma & Welling's Algorithm 1 (minibatch AEVB): for the batch ``x``,
    draw the noise :math:`\varepsilon`, form the estimate :math:`\tilde{\mathcal{L}}` of the bound
    (the ELBO with ``k`` samples averaged, or the IWAE bound with ``k`` importance samples), and
    take one optimizer step along its gradient in the encoder's and the decoder's parameters at
    once. :func:`train` calls it once per batch, after slicing and binarizing the batch.

    Args:
        model: The VAE whose parameters ``optimizer`` updates.
        optimizer: A torch optimizer over ``model.parameters()`` (Adam in :func:`train`).
        x: A batch of binary (or grey) images in [0, 1].
        objective: ``"elbo"`` or ``"iwae"``.
        k: Samples per example (K).
        beta: KL weight (``objective="elbo"`` only).
        free_bits: Nats per latent unit below which the KL is not penalized (free bits,
            Kingma et al. 2016; chapter "VAEs in practice"); 0 switches it off.

    Shape:
        - x: :math:`(B, D)`.
        - Output: :math:`()`.

    Returns:
        The batch's bound before the step, a 0-dim tensor (nats per example, the mean over the
        batch), detached.

    Raises:
        ValueError: If ``objective`` is not ``"elbo"`` or ``"iwae"``.

    References:
        Kingma & Welling (2014), Algorithm 1; Burda et al. (2016), eq. 8 (the IWAE bound).

    Examples:
        >>> import torch
        >>> from vae_tutorial import training
        >>> from vae_tutorial.models import VAE
        >>> _ = training.seed_everything(0)
        >>> model = VAE(data_dim=64, hidden_dim=16, latent_dim=2)
        >>> opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        >>> x = torch.bernoulli(torch.full((8, 64), 0.3))
        >>> bound = training.training_step(model, opt, x)
        >>> bound.shape, bool(bound < 0)                      # nats per example, before the step
        (torch.Size([]), True)

    Introduced in the chapter "A VAE on real digits".
    """
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective: expected 'elbo' or 'iwae', got {objective!r}")
    bound = _objective(model, x, objective, k, beta, free_bits)
    optimizer.zero_grad(set_to_none=True)
    # gradient ascent on the bound = descent on its negative, in theta and phi at once
    (-bound).backward()
    optimizer.step()
    return bound.detach()


def train(
    model: VAE,
    x_train: torch.Tensor,
    x_val: torch.Tensor | None = None,
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
    resume_from: str | os.PathLike[str] | None = None,
    progress: bool = True,
    validate: bool = False,
    warmup_steps: int = 0,
    free_bits: float = 0.0,
    **removed: object,
) -> History:
    r"""Fit ``model`` by maximizing the ELBO (or the IWAE bound) with Adam.

    Each epoch permutes the training set in memory and slices batches from it (no ``DataLoader``,
    no per-item Python work). With ``dynamic_binarization`` every batch is re-binarized,
    :math:`\tilde x \sim \mathrm{Bernoulli}(x)`, a cheap regularizer; the validation data are
    then binarized once under ``seed``. After each epoch the ELBO on the validation data
    ``x_val`` is measured and, if it is the best so far, the model is kept in memory: the best
    epoch is chosen on ``x_val``, so ``x_val`` must be held out from the training set (see
    :func:`vae_tutorial.data.train_validation_split`), never the test set, whose numbers would
    then be optimistic. With ``checkpoint_path`` the run is saved after every epoch (the best
    model, and the last state for resuming; see the module docstring). If the loss, the
    parameters after an epoch or the validation ELBO become non-finite, the model is restored
    to that best state and :class:`TrainingDivergedError` is raised; the checkpoint on disk is the
    last good one. (Finiteness is checked every 32 steps and at the end of each epoch, every step
    with ``validate=True``; the error names the first non-finite step.) Adam uses torch's fused
    kernel where available.

    Faults lose nothing:

    - ``checkpoint_path`` is checked before the first step: its directory is created if needed and
      a file is written there and removed; a directory, or a place that cannot be written, raises.
    - A save that fails (a full disk) raises
      :class:`~vae_tutorial.checkpoints.CheckpointError` naming the file, leaves no temporary
      file and the previous checkpoint intact, restores the best model and carries the History
      (``err.history``); so does :class:`TrainingDivergedError`.
    - ``KeyboardInterrupt`` (Ctrl-C, a notebook's stop button) ends training without an error:
      the model is restored to its best state and the History of the finished epochs is returned
      with ``interrupted=True``; ``train(..., resume_from=checkpoint_path)`` with the same
      arguments then finishes the run.
    - A file already at ``checkpoint_path`` (an earlier run) is replaced only if this run's best
      score is at least its recorded best score, on the same kind of data; otherwise (or if it
      cannot be read as a checkpoint) it is kept, moved to ``<name>.previous<suffix>``, and
      ``History.previous_checkpoint`` says where. Nothing is printed.

    Args:
        model: The VAE to train, in place.
        x_train: Training images in [0, 1], ``(N, D)`` with ``N >= 1``; another floating dtype
            than the model's (float64 from NumPy, say) is converted to the model's.
        x_val: Optional validation images in [0, 1], ``(M, D)`` with ``M >= 1``, converted
            alike: examples held out from the training set, on which the best epoch is
            chosen (they are never trained on). Without them the best epoch is the one with
            the highest training objective.
        epochs: Passes over the training set; with ``resume_from``, the total of the run
            (the epochs already done count).
        batch_size: Examples per step (B).
        lr: Adam learning rate.
        beta: KL weight (``objective="elbo"`` only); 1 gives the ELBO.
        objective: ``"elbo"`` (Kingma & Welling 2014) or ``"iwae"`` (Burda et al. 2016).
        k: Samples per example (K): averaged in the ELBO, importance-weighted in the IWAE bound.
        dynamic_binarization: Re-sample binary pixels from the grey values every batch.
        seed: Seed of initialization-independent randomness: permutations, noise, binarization;
            an int in [0, 2**32 - 1].
        checkpoint_path: File to save the run to after every epoch (``torch.save`` of a dict;
            read it with :func:`~vae_tutorial.checkpoints.load_checkpoint`).
        resume_from: A checkpoint written by :func:`train` to continue: the model, Adam, the
            History and the random states are restored and training goes on from the epoch
            after the saved one, so an interrupted and resumed run equals an uninterrupted one.
            The other arguments (and the data) must be the run's own; ``model`` must have the
            same architecture. Usually the same file as ``checkpoint_path``.
        progress: Show a tqdm progress bar.
        warmup_steps: KL warm-up (Bowman et al. 2016): the KL weight rises linearly from
            ``beta / warmup_steps`` at the first step to ``beta`` at step ``warmup_steps`` and
            stays there; 0 (default) trains with ``beta`` throughout. The validation ELBO
            always uses ``beta``. Introduced in the chapter "VAEs in practice".
        free_bits: Free bits (Kingma et al. 2016), nats per latent unit: the KL term of
            :func:`~vae_tutorial.losses.kl_free_bits`, each unit's batch-mean KL floored at
            ``free_bits`` (``objective="elbo"`` only; 0, the default, is the plain KL). The
            validation ELBO is the plain one. Introduced in the chapter "VAEs in practice".
        validate: Keep the per-call input checks of :mod:`vae_tutorial.losses` on during
            training (off by default for speed; the inputs are checked once up front).
        **removed: ``x_test=`` (the former name of ``x_val``) raises a ``TypeError`` that says
            so; any other keyword raises the usual ``TypeError``.

    Returns:
        A :class:`History`; the model ends in its best state (highest validation ELBO).

    Raises:
        TypeError: If the data are not floating-point tensors, an argument has the wrong
            type (``seed`` not an int, ``checkpoint_path`` not a path, say), or ``x_test=`` or
            another unknown keyword is passed.
        ValueError: If arguments are out of range, the data are empty or do not match
            ``model.data_dim``, ``checkpoint_path`` is a directory, or ``resume_from`` is not a
            resumable checkpoint of this run (other arguments, data or architecture).
        CheckpointError: If ``checkpoint_path`` cannot be written (before the first step), a
            save fails, or ``resume_from`` cannot be read.
        TrainingDivergedError: If the loss, the parameters or the validation ELBO become
            non-finite.

    Examples:
        >>> import torch
        >>> from vae_tutorial import training
        >>> from vae_tutorial.models import VAE
        >>> _ = training.seed_everything(0)
        >>> model = VAE(data_dim=64, hidden_dim=16, latent_dim=2)
        >>> from vae_tutorial import data
        >>> x = torch.rand(48, 64)  # 48 grey training images in [0, 1], (N, D)
        >>> x_fit, x_val = data.train_validation_split(x, fraction=0.25, seed=0)
        >>> history = training.train(model, x_fit, x_val, epochs=1, batch_size=16,
        ...                          progress=False)
        >>> history.epoch, history.best_epoch
        ([1], 1)
        >>> bool(history.val_elbo[0] < 0)                    # nats per example
        True

    Introduced in the chapter "A VAE on real digits".
    """
    if "x_test" in removed:
        raise TypeError(
            "train() takes the data it selects the best epoch on as x_val (validation images "
            "held out from the training set, e.g. by data.train_validation_split); x_test= is "
            "no longer accepted: choosing the epoch on the test set makes its numbers optimistic"
        )
    if removed:
        raise TypeError(
            f"train() got an unexpected keyword argument {next(iter(removed))!r}"
        )
    _check_data("x_train", x_train)
    if x_train.shape[1] != model.data_dim:
        raise ValueError(
            f"x_train must have shape (N, {model.data_dim}) to match model.data_dim; "
            f"got {shape_str(x_train.shape)}"
        )
    if x_val is not None:
        _check_data("x_val", x_val)
        if x_val.shape[1:] != x_train.shape[1:]:
            raise ValueError(
                f"x_val must have shape (M, {x_train.shape[1]}); got {shape_str(x_val.shape)}"
            )
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("k", k)):
        check_positive_int(name, value)
    check_real("lr", lr, minimum=0.0)
    check_real("beta", beta, minimum=0.0)
    check_real("free_bits", free_bits, minimum=0.0)
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int):
        raise TypeError(f"warmup_steps must be an int; got {type(warmup_steps).__name__}")
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0; got {warmup_steps}")
    check_seed("seed", seed)
    if free_bits and objective != "elbo":
        raise ValueError(f"free_bits needs objective='elbo'; got objective={objective!r}")
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective must be 'elbo' or 'iwae'; got {objective!r}")
    for name, x in (("x_train", x_train), ("x_val", x_val)):
        if x is not None and x.numel():
            lo, hi = torch.aminmax(x)  # one pass over the data (it is finite: checked above)
            if lo < 0 or hi > 1:
                raise ValueError(
                    f"{name} must lie in [0, 1]; got values in [{float(lo):.4g}, {float(hi):.4g}]"
                )
    checkpoint = checked_path("checkpoint_path", checkpoint_path)
    config = dict(
        batch_size=batch_size, lr=float(lr), beta=float(beta), objective=objective, k=k,
        dynamic_binarization=bool(dynamic_binarization), seed=int(seed),
        n_train=int(x_train.shape[0]), n_val=None if x_val is None else int(x_val.shape[0]),
        data_dim=int(x_train.shape[1]),
    )
    if warmup_steps or free_bits:  # (only then: checkpoints of plain runs keep their config)
        config.update(warmup_steps=int(warmup_steps), free_bits=float(free_bits))
    resumed = None
    if resume_from is not None:
        resumed = load_resumable("resume_from", resume_from, config, epochs)
    # data of another floating dtype (float64 from NumPy, say) are converted to the model's
    dtype = next(model.parameters()).dtype
    x_train = x_train.to(dtype)
    if x_val is not None:
        x_val = x_val.to(dtype)

    device = next(model.parameters()).device
    g = seed_everything(seed)
    # a CPU generator cannot drive a CUDA kernel: batches on another device are binarized with a
    # generator there (on the CPU this is g itself, so CPU runs draw exactly the same numbers)
    g_device = g if device.type == "cpu" else torch.Generator(device=device).manual_seed(seed)
    x_train = x_train.to(device)
    if x_val is not None and dynamic_binarization:
        g_val = torch.Generator(device=x_val.device).manual_seed(seed)
        x_val = torch.bernoulli(x_val, generator=g_val)
    opt = _adam(list(model.parameters()), lr)
    history = History(checkpoint_path=checkpoint)
    best_score, best_state = -math.inf, copy.deepcopy(model.state_dict())
    first_epoch = 1
    if resumed is not None:
        try:
            model.load_state_dict(resumed["last_model"])
            opt.load_state_dict(resumed["optimizer"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise ValueError(
                f"resume_from: {resume_from} does not fit this model (another architecture?): {e}"
            ) from None
        best_state = {k: v.to(device) for k, v in resumed["model"].items()}
        best_score = float(resumed["best_score"])
        saved = resumed["history"]
        history = History(
            epoch=list(saved["epoch"]), train_elbo=list(saved["train_elbo"]),
            val_elbo=list(saved["val_elbo"]), best_epoch=int(saved["best_epoch"]),
            seconds=list(saved["seconds"]), checkpoint_path=checkpoint,
            resumed_from=Path(resume_from),
        )
        set_rng_state(resumed["rng"], g, g_device, device)
        first_epoch = int(resumed["epoch"]) + 1
    selected_on = "validation" if x_val is not None else "train"
    saver = CheckpointSaver(checkpoint, own=resume_from is not None and checkpoint is not None
                   and same_file(resume_from, checkpoint), selected_on=selected_on)
    n = x_train.shape[0]
    steps = math.ceil(n / batch_size)
    check_every = 1 if validate else _FINITE_CHECK_EVERY
    model.train()

    def fail(err: Exception) -> Exception:
        """Restore the best model, keep a better earlier checkpoint, attach the History."""
        model.load_state_dict(best_state)
        saver.finish(best_score, history)
        err.history = history  # type: ignore[attr-defined]
        return err

    try:
        # tqdm as a context manager closes the bar however the loop ends (a divergence included).
        with (
            validation(validate),
            tqdm(total=(epochs - first_epoch + 1) * steps, disable=not progress, desc="training",
                 unit="step") as bar,
        ):
            for epoch in range(first_epoch, epochs + 1):
                start = time.perf_counter()
                perm = torch.randperm(n, generator=g).to(device)
                total = torch.zeros((), device=device)
                pending: list[torch.Tensor] = []  # bounds of the steps since the last check
                for i in range(steps):
                    batch = perm[i * batch_size : (i + 1) * batch_size]
                    xb = x_train.index_select(0, batch)  # (B, D)
                    if dynamic_binarization:
                        xb = torch.bernoulli(xb, generator=g_device)
                    # KL warm-up: \beta_t = \beta \min(1, t / T)    (Bowman et al. 2016)
                    step = (epoch - 1) * steps + i + 1
                    beta_t = beta * min(1.0, step / warmup_steps) if warmup_steps else beta
                    bound = training_step(model, opt, xb, objective=objective, k=k, beta=beta_t,
                                          free_bits=free_bits)
                    pending.append(bound)
                    total += pending[-1] * xb.shape[0]
                    bar.update()
                    # Reading a value back forces a host-device sync, so finiteness is checked
                    # every few steps (every step with validate=True) and always before the
                    # epoch's end: a non-finite bound makes `total` non-finite, and the model
                    # is restored anyway.
                    if len(pending) == check_every or i == steps - 1:
                        if not bool(torch.isfinite(total)):
                            first = i + 1 - len(pending)
                            bad = (~torch.isfinite(torch.stack(pending))).nonzero()
                            j = int(bad[0]) if bad.numel() else len(pending) - 1
                            raise fail(_diverged(
                                history, saver,
                                f"non-finite {objective} ({float(pending[j])}) at epoch {epoch}, "
                                f"step {first + j + 1}",
                            ))
                        pending.clear()
                train_score = float(total) / n
                # The last step's update can itself break the weights (its loss was finite).
                if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
                    raise fail(_diverged(
                        history, saver, f"non-finite parameters after epoch {epoch}"
                    ))
                val_score = (
                    evaluate(model, x_val, seed=seed, beta=beta)
                    if x_val is not None
                    else math.nan
                )
                if x_val is not None and not math.isfinite(val_score):
                    raise fail(_diverged(
                        history, saver, f"non-finite validation ELBO after epoch {epoch}"
                    ))
                history.epoch.append(epoch)
                history.train_elbo.append(train_score)
                history.val_elbo.append(val_score)
                history.seconds.append(time.perf_counter() - start)
                score = val_score if x_val is not None else train_score
                bar.set_postfix(train=f"{train_score:.2f}", val=f"{val_score:.2f}")
                if score > best_score:
                    best_score, history.best_epoch = score, epoch
                    best_state = copy.deepcopy(model.state_dict())
                if checkpoint is not None:
                    state = {
                        "format": FORMAT,
                        "model": best_state,
                        "best_epoch": history.best_epoch,
                        "best_score": best_score,
                        "selected_on": selected_on,
                        "epoch": epoch,
                        "last_model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "rng": rng_state(g, g_device, device),
                        "history": history_dict(history),
                        "config": config,
                    }
                    try:
                        saver.save(state, checkpoint)
                    except CheckpointError as e:
                        raise fail(e) from e.__cause__
    except KeyboardInterrupt:
        # Ctrl-C: hand back what finished (the checkpoint on disk holds the last whole epoch)
        model.load_state_dict(best_state)
        saver.finish(best_score, history)
        history.interrupted = True
        return history
    model.load_state_dict(best_state)
    saver.finish(best_score, history)
    return history


def _diverged(history: History, saver: CheckpointSaver, what: str) -> TrainingDivergedError:
    """The error that says where training broke down and what is kept (the caller restores)."""
    restored = f"epoch {history.best_epoch}" if history.best_epoch else "its initial state"
    if history.checkpoint_path is None:
        kept = ""
    elif saver.wrote or saver.own:  # a file of this run (or of the run it resumes) is there
        kept = f", checkpoint kept at {history.checkpoint_path}"
    else:
        kept = f"; no checkpoint was written to {history.checkpoint_path}"
    return TrainingDivergedError(f"{what}; model restored to {restored}{kept}")


