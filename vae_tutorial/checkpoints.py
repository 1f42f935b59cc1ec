r"""Checkpoints of a training run: written atomically, read back, resumed.

A checkpoint (``train(..., checkpoint_path=path)``) is one file, written atomically after every
epoch; :func:`load_checkpoint` reads it. It is a dict with keys

- ``"model"``: the best model's ``state_dict`` (what ``VAE.load_state_dict`` takes),
- ``"best_epoch"``, ``"best_score"``, ``"selected_on"``: which epoch that is, its score (nats
  per example) and whether the score is the validation ELBO (``"validation"``) or the training
  objective (``"train"``, without validation data),
- ``"epoch"``, ``"last_model"``, ``"optimizer"``, ``"rng"``: the last finished epoch, the model
  and the Adam state after it, and torch's random states then (training draws from torch's
  generators only, never from NumPy's or Python's), so that ``train(..., resume_from=path)``
  continues exactly where the run stopped,
- ``"history"``: the :class:`~vae_tutorial.training.History` so far, as a dict, and
  ``"config"``: the run's arguments.

:func:`load_checkpoint` and :class:`CheckpointError` are also importable from
:mod:`vae_tutorial.training`.

Introduced in the chapter "A VAE on real digits".
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

__all__ = ["FORMAT", "CheckpointError", "CheckpointSaver", "load_checkpoint", "save_atomic"]


#: The format tag of a checkpoint file (unchanged since the module was part of ``training``).
FORMAT = "vae_tutorial.training checkpoint 1"


class CheckpointError(OSError):
    """A checkpoint could not be written (or read back); the message names the file.

    Raised by :func:`~vae_tutorial.training.train` before the first step when
    ``checkpoint_path`` cannot be written, and after an epoch when saving fails (a full disk,
    say): the model is then restored to its best state, no temporary file is left, and the
    History is attached.

    Attributes:
        history: The :class:`~vae_tutorial.training.History` of the epochs that finished
            (``None`` before training).
    """

    history: Any = None


def load_checkpoint(path: str | os.PathLike[str]) -> dict:
    """Read a checkpoint written by :func:`~vae_tutorial.training.train` onto the CPU
    (``weights_only``, no code runs).

    Args:
        path: The file (``checkpoint_path`` of a run).

    Returns:
        The checkpoint dict (keys in the module docstring); ``ckpt["model"]`` is the best model's
        ``state_dict``. A file holding only a ``state_dict`` (written by older versions) comes
        back as ``{"model": state_dict}``.

    Raises:
        CheckpointError: If the file cannot be read or is not a checkpoint.

    Examples:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from vae_tutorial import training
        >>> from vae_tutorial.models import VAE
        >>> _ = training.seed_everything(0)
        >>> model = VAE(data_dim=64, hidden_dim=16, latent_dim=2)
        >>> path = Path(tempfile.mkdtemp()) / "run.pt"
        >>> history = training.train(model, torch.rand(32, 64), epochs=2, batch_size=16,
        ...                          checkpoint_path=path, progress=False)
        >>> ckpt = training.load_checkpoint(path)
        >>> ckpt["epoch"], ckpt["best_epoch"] == history.best_epoch
        (2, True)
        >>> fresh = VAE(data_dim=64, hidden_dim=16, latent_dim=2)
        >>> fresh.load_state_dict(ckpt["model"])
        <All keys matched successfully>
    """
    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # OSError, RuntimeError, EOFError, pickle.UnpicklingError, ...
        raise CheckpointError(f"cannot read the checkpoint {path}: {e}") from e
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        return obj
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {"model": obj}
    raise CheckpointError(f"{path} is not a checkpoint written by vae_tutorial.training.train")


def checked_path(name: str, value: object) -> Path | None:
    """The checkpoint path as a ``Path`` after checking, before any training, that it can be
    written: not a directory, its directory exists or can be created, and a file can be written
    there (one is written and removed)."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or isinstance(value, bytes):
        raise TypeError(f"{name} must be a str or os.PathLike; got {type(value).__name__}")
    text = os.fspath(value)
    if not text:
        raise ValueError(f"{name} must name a file; got an empty string")
    path = Path(text)
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise ValueError(f"{name} must name a file, not a directory; got {text!r}")
    if path.exists() and not path.is_file():
        raise ValueError(f"{name} must name a regular file; got {text!r}, which exists")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".probe")
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as e:
        raise CheckpointError(
            f"{name}: cannot write {text!r} (directory {str(path.parent)!r}): "
            f"{type(e).__name__}: {e.strerror or e}"
        ) from e
    return path


def same_file(a: str | os.PathLike[str], b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == b.resolve()


def load_resumable(name: str, path: str | os.PathLike[str], config: dict, epochs: int) -> dict:
    """A checkpoint that can resume this run: written by
    :func:`~vae_tutorial.training.train` with the same arguments."""
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise TypeError(f"{name} must be a str or os.PathLike; got {type(path).__name__}")
    ckpt = load_checkpoint(path)
    if "optimizer" not in ckpt:
        raise ValueError(
            f"{name}: {os.fspath(path)} holds only model weights (an older checkpoint), "
            "not the optimizer and random state a resumed run needs"
        )
    differ = [
        f"{key}={config[key]!r} (checkpoint: {ckpt['config'].get(key)!r})"
        for key in config
        if ckpt["config"].get(key) != config[key]
    ]
    if differ:
        raise ValueError(
            f"{name}: {os.fspath(path)} was written by a run with other arguments or data; "
            f"got {', '.join(differ)}"
        )
    if ckpt["epoch"] > epochs:
        raise ValueError(
            f"epochs must be >= the {ckpt['epoch']} epochs {os.fspath(path)} already holds "
            f"(epochs counts the whole run when resuming); got {epochs}"
        )
    return ckpt


def rng_state(g: torch.Generator, g_device: torch.Generator, device: torch.device) -> dict:
    """torch's random states that training draws from (training uses neither NumPy nor random)."""
    state = {"generator": g.get_state(), "torch": torch.get_rng_state()}
    if g_device is not g:
        state["generator_device"] = g_device.get_state()
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(
    state: dict, g: torch.Generator, g_device: torch.Generator, device: torch.device
) -> None:
    g.set_state(state["generator"])
    torch.set_rng_state(state["torch"])
    if g_device is not g and "generator_device" in state:
        g_device.set_state(state["generator_device"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def history_dict(history: Any) -> dict:
    """A :class:`~vae_tutorial.training.History` as a dict of plain values (paths as str)."""
    out = asdict(history)
    for key in ("checkpoint_path", "previous_checkpoint", "resumed_from"):
        out[key] = None if out[key] is None else str(out[key])
    return out


class CheckpointSaver:
    """Writes a run's checkpoints; keeps an earlier file at the path unless this run beats it.

    The earlier file is moved to ``<name>.previous<suffix>`` (the first free name) at the first
    save; when the run ends, it is removed if the run's best score is at least the one it
    records on the same kind of data, else it stays and ``History.previous_checkpoint`` names it.
    """

    def __init__(self, path: Path | None, *, own: bool, selected_on: str) -> None:
        self.path, self.selected_on, self.own = path, selected_on, own
        self.wrote = False
        self.kept: Path | None = None  # the earlier file, moved aside
        self.kept_score: float | None = None  # its best score (None: unknown or not comparable)
        self.check_earlier = path is not None and not own and path.exists()

    # (path is passed again so that type checkers see a Path, not Path | None)

    def save(self, state: dict, path: Path) -> None:
        if self.check_earlier:
            self.check_earlier = False
            self.kept_score = self._earlier_score(path)
            self.kept = _free_name(path)
            try:
                os.replace(path, self.kept)
            except OSError as e:
                self.kept = None
                msg = f"cannot keep the earlier checkpoint {path} aside: {e}"
                raise CheckpointError(msg) from e
        save_atomic(state, path)
        self.wrote = True

    def _earlier_score(self, path: Path) -> float | None:
        try:
            old = load_checkpoint(path)
        except CheckpointError:
            return None
        if old.get("selected_on") != self.selected_on:
            return None
        return float(old["best_score"])

    def finish(self, best_score: float, history: Any) -> None:
        if self.kept is None:
            return
        if self.wrote and self.kept_score is not None and best_score >= self.kept_score:
            self.kept.unlink(missing_ok=True)  # this run is at least as good: nothing is lost
            self.kept = None
        elif not self.wrote and self.path is not None:  # nothing replaced it: put it back
            os.replace(self.kept, self.path)
            self.kept = None
        history.previous_checkpoint = self.kept


def _free_name(path: Path) -> Path:
    """``<name>.previous<suffix>``, or ``.previous-2``, ``-3``, ... if that exists."""
    n = 1
    while True:
        tag = ".previous" if n == 1 else f".previous-{n}"
        candidate = path.with_name(path.stem + tag + path.suffix)
        if not candidate.exists():
            return candidate
        n += 1


def save_atomic(state: dict, path: Path) -> None:
    """Write to a temporary file and rename, so a crash never leaves a half-written checkpoint.

    A failure (a full disk, an interrupt) removes the temporary file; errors become
    :class:`CheckpointError` naming ``path``, and the file already at ``path`` is untouched.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, (OSError, RuntimeError)):  # torch reports write errors as RuntimeError
            raise CheckpointError(f"cannot save the checkpoint to {path}: {e}") from e
        raise
