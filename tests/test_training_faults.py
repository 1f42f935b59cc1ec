"""Training faults lose nothing (issue 11, item 4): the checkpoint path is checked before the first
step, a failed save names the file and leaves no temporary file, the divergence message names a
checkpoint only if one exists, Ctrl-C hands back the History and the best model, a rerun keeps a
better earlier checkpoint, and a resumed run equals an uninterrupted one exactly.

The data are grey 8x8 digits, 200 training images (not a multiple of the batch size 64, so each
epoch has a partial batch), beta != 1 and k = 2, so that a resume that skipped or repeated any
random draw, or lost Adam's state, would show.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path

import pytest
import torch

from vae_tutorial import data, training
from vae_tutorial.models import VAE

KW = dict(batch_size=64, lr=3e-3, beta=0.7, k=2, seed=3, progress=False)


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    d = data.load_digits()
    return d.x_train[:200], d.x_test[:90]


def _vae(seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    return VAE(data_dim=64, hidden_dim=24, latent_dim=3)


def _same_params(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


class _CountSteps:
    """Wraps training._objective; counts steps and can raise or return nan at a given step."""

    def __init__(self, monkeypatch, *, fail_at: int | None = None, exc=None, nan_at=None):
        self.n, self.fail_at, self.exc, self.nan_at = 0, fail_at, exc, nan_at
        self.original = training._objective
        monkeypatch.setattr(training, "_objective", self)

    def __call__(self, *args, **kwargs):
        self.n += 1
        if self.fail_at is not None and self.n == self.fail_at:
            raise self.exc
        bound = self.original(*args, **kwargs)
        return bound * math.nan if self.nan_at is not None and self.n >= self.nan_at else bound


# ------------------------------------------------------------------------------------------
# The checkpoint path is checked before the first step
# ------------------------------------------------------------------------------------------


def test_a_directory_as_checkpoint_path_fails_before_any_step(digits, tmp_path, monkeypatch):
    steps = _CountSteps(monkeypatch)
    with pytest.raises(ValueError, match=r"checkpoint_path must name a file, not a directory.*"):
        training.train(_vae(), *digits, epochs=1, checkpoint_path=tmp_path, **KW)
    with pytest.raises(ValueError, match=r"not a directory"):
        training.train(_vae(), *digits, epochs=1, checkpoint_path=f"{tmp_path}/new/", **KW)
    assert steps.n == 0
    assert sorted(os.listdir(tmp_path)) == []  # no stray file next to it


def test_a_parent_that_is_a_file_fails_before_any_step(digits, tmp_path, monkeypatch):
    (tmp_path / "plain").write_text("x")
    steps = _CountSteps(monkeypatch)
    with pytest.raises(OSError, match=r"checkpoint_path: cannot write .*plain/c\.pt"):
        training.train(_vae(), *digits, epochs=1, checkpoint_path=tmp_path / "plain" / "c.pt", **KW)
    assert steps.n == 0


def _unwritable_dir(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        return ro
    if os.path.isdir("/sys") and not os.access("/sys", os.W_OK) or _cannot_create("/sys"):
        return Path("/sys")  # read-only even for root
    pytest.skip("running as root with no read-only directory to try")


def _cannot_create(directory: str) -> bool:
    try:
        Path(directory, ".vae_probe").touch()
    except OSError:
        return True
    Path(directory, ".vae_probe").unlink()
    return False


def test_an_unwritable_directory_fails_before_any_step(digits, tmp_path, monkeypatch):
    where = _unwritable_dir(tmp_path)
    steps = _CountSteps(monkeypatch)
    with pytest.raises(training.CheckpointError, match=r"cannot write .*best\.pt") as info:
        training.train(_vae(), *digits, epochs=1, checkpoint_path=where / "best.pt", **KW)
    assert isinstance(info.value, OSError)
    assert steps.n == 0
    assert not (where / "best.pt").exists()


def test_checkpoint_path_of_the_wrong_type():
    with pytest.raises(TypeError, match=r"checkpoint_path must be a str or os.PathLike; got int"):
        training.train(_vae(), torch.full((8, 64), 0.5), checkpoint_path=3, progress=False)


# ------------------------------------------------------------------------------------------
# A failed save
# ------------------------------------------------------------------------------------------


def test_a_failed_save_names_the_file_leaves_no_temporary_and_keeps_the_history(
    digits, tmp_path, monkeypatch
):
    """Epoch 1 saves; epoch 2's save writes half a file and fails (a full disk, as torch says)."""
    path = tmp_path / "best.pt"
    real_save = torch.save
    calls = {"n": 0}

    def save(obj, f, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            Path(f).write_bytes(b"half a checkpoint")
            raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    model = _vae()
    match = r"cannot save the checkpoint to .*best\.pt"
    with pytest.raises(training.CheckpointError, match=match) as info:
        training.train(model, *digits, epochs=3, checkpoint_path=path, **KW)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"]  # no best.pt.tmp
    assert training.load_checkpoint(path)["epoch"] == 1  # the previous checkpoint is intact
    # the History of the epochs that trained travels with the error, and the model is the best
    # of them, as after an uninterrupted 2-epoch run
    assert info.value.history.epoch == [1, 2]
    reference = _vae()
    training.train(reference, *digits, epochs=2, **KW)
    assert _same_params(model, reference)


# ------------------------------------------------------------------------------------------
# Divergence
# ------------------------------------------------------------------------------------------


def test_divergence_before_any_save_names_no_checkpoint(digits, tmp_path, monkeypatch):
    _CountSteps(monkeypatch, nan_at=1)
    path = tmp_path / "best.pt"
    with pytest.raises(training.TrainingDivergedError) as info:
        training.train(_vae(), *digits, epochs=2, checkpoint_path=path, **KW)
    message = str(info.value)
    assert "kept" not in message, message
    assert "no checkpoint was written" in message and "initial state" in message
    assert not path.exists()
    assert info.value.history.epoch == []


def test_divergence_after_a_save_names_the_checkpoint(digits, tmp_path, monkeypatch):
    steps_per_epoch = math.ceil(digits[0].shape[0] / KW["batch_size"])
    _CountSteps(monkeypatch, nan_at=steps_per_epoch + 2)
    path = tmp_path / "best.pt"
    match = r"epoch 2.*checkpoint kept at"
    with pytest.raises(training.TrainingDivergedError, match=match) as info:
        training.train(_vae(), *digits, epochs=3, checkpoint_path=path, **KW)
    assert path.is_file() and training.load_checkpoint(path)["epoch"] == 1
    assert info.value.history.epoch == [1]


# ------------------------------------------------------------------------------------------
# KeyboardInterrupt
# ------------------------------------------------------------------------------------------


def test_keyboard_interrupt_returns_the_history_and_the_best_model(digits, tmp_path, monkeypatch):
    """Ctrl-C in epoch 3's second step: the History of epochs 1-2 comes back, interrupted, and
    the model is the best of them (not the half-trained epoch 3), as in an uninterrupted 2-epoch
    run."""
    steps_per_epoch = math.ceil(digits[0].shape[0] / KW["batch_size"])
    reference = _vae()
    h_ref = training.train(reference, *digits, epochs=2, **KW)
    _CountSteps(monkeypatch, fail_at=2 * steps_per_epoch + 2, exc=KeyboardInterrupt())
    model = _vae()
    history = training.train(model, *digits, epochs=5, checkpoint_path=tmp_path / "c.pt", **KW)
    assert history.interrupted is True and h_ref.interrupted is False
    assert history.epoch == [1, 2]
    assert history.val_elbo == h_ref.val_elbo and history.best_epoch == h_ref.best_epoch
    assert _same_params(model, reference)
    assert not (tmp_path / "c.pt.tmp").exists()


# ------------------------------------------------------------------------------------------
# A rerun into the same path
# ------------------------------------------------------------------------------------------


def test_a_worse_rerun_keeps_the_better_checkpoint_and_says_so(digits, tmp_path):
    path = tmp_path / "best.pt"
    good = training.train(_vae(), *digits, epochs=6, checkpoint_path=path, **KW)
    good_state = training.load_checkpoint(path)["model"]
    worse = training.train(_vae(), *digits, epochs=1, checkpoint_path=path, **{**KW, "lr": 1e-6})
    assert max(worse.val_elbo) < max(good.val_elbo)
    assert good.previous_checkpoint is None
    assert worse.previous_checkpoint == tmp_path / "best.previous.pt"
    kept = training.load_checkpoint(worse.previous_checkpoint)["model"]
    assert all(torch.equal(kept[k], good_state[k]) for k in good_state)
    assert training.load_checkpoint(path)["epoch"] == 1  # the new run is at the path


def test_an_equal_or_better_rerun_replaces_and_keeps_nothing(digits, tmp_path):
    path = tmp_path / "best.pt"
    training.train(_vae(), *digits, epochs=2, checkpoint_path=path, **KW)
    again = training.train(_vae(), *digits, epochs=2, checkpoint_path=path, **KW)  # the same run
    assert again.previous_checkpoint is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"]


def test_a_file_that_is_not_a_checkpoint_is_kept(digits, tmp_path):
    path = tmp_path / "best.pt"
    path.write_text("my notes")
    h = training.train(_vae(), *digits, epochs=1, checkpoint_path=path, **KW)
    assert h.previous_checkpoint == tmp_path / "best.previous.pt"
    assert h.previous_checkpoint.read_text() == "my notes"


# ------------------------------------------------------------------------------------------
# Resume
# ------------------------------------------------------------------------------------------


def test_the_checkpoint_holds_model_optimizer_epoch_history_and_random_state(digits, tmp_path):
    path = tmp_path / "c.pt"
    model = _vae()
    h = training.train(model, *digits, epochs=2, checkpoint_path=path, **KW)
    ckpt = training.load_checkpoint(path)
    assert ckpt["epoch"] == 2 and ckpt["best_epoch"] == h.best_epoch
    assert ckpt["history"]["val_elbo"] == h.val_elbo
    assert ckpt["optimizer"]["state"], "Adam's moments are saved"
    assert {"generator", "torch"} <= set(ckpt["rng"])
    fresh = VAE(data_dim=64, hidden_dim=24, latent_dim=3)
    fresh.load_state_dict(ckpt["model"])
    assert _same_params(fresh, model)


@pytest.mark.parametrize("with_test_set", [True, False])
@pytest.mark.parametrize("dynamic_binarization", [True, False])
def test_two_plus_two_epochs_resumed_equal_four_straight(
    digits, tmp_path, with_test_set, dynamic_binarization
):
    x_train, x_test = digits
    x_test = x_test if with_test_set else None
    kw = {**KW, "dynamic_binarization": dynamic_binarization}
    straight = _vae()
    a = tmp_path / "a.pt"
    h4 = training.train(straight, x_train, x_test, epochs=4, checkpoint_path=a, **kw)
    path = tmp_path / "b.pt"
    training.train(_vae(), x_train, x_test, epochs=2, checkpoint_path=path, **kw)
    resumed = _vae(seed=99)  # other initial weights: everything must come from the file
    h = training.train(
        resumed, x_train, x_test, epochs=4, checkpoint_path=path, resume_from=path, **kw
    )
    assert _same_params(resumed, straight)
    assert h.epoch == h4.epoch and h.best_epoch == h4.best_epoch
    assert h.train_elbo == h4.train_elbo
    assert repr(h.val_elbo) == repr(h4.val_elbo)  # nan without a test set (nan != nan)
    assert h.resumed_from == path and h.previous_checkpoint is None
    last = training.load_checkpoint(path)
    ref = training.load_checkpoint(a)
    assert all(torch.equal(last["last_model"][k], ref["last_model"][k]) for k in ref["model"])


def test_interrupted_then_resumed_equals_uninterrupted(digits, tmp_path, monkeypatch):
    steps_per_epoch = math.ceil(digits[0].shape[0] / KW["batch_size"])
    straight = _vae()
    h4 = training.train(straight, *digits, epochs=4, **KW)
    path = tmp_path / "c.pt"
    counter = _CountSteps(monkeypatch, fail_at=2 * steps_per_epoch + 3, exc=KeyboardInterrupt())
    h = training.train(_vae(), *digits, epochs=4, checkpoint_path=path, **KW)
    assert h.interrupted and h.epoch == [1, 2]
    counter.fail_at = None
    model = _vae()
    h = training.train(model, *digits, epochs=4, checkpoint_path=path, resume_from=path, **KW)
    assert not h.interrupted
    assert _same_params(model, straight)
    assert (h.epoch, h.train_elbo, h.val_elbo) == (h4.epoch, h4.train_elbo, h4.val_elbo)


def test_resume_with_other_arguments_or_an_old_file_is_refused(digits, tmp_path):
    path = tmp_path / "c.pt"
    training.train(_vae(), *digits, epochs=2, checkpoint_path=path, **KW)
    with pytest.raises(ValueError, match=r"resume_from: .* other arguments .*seed=4"):
        training.train(_vae(), *digits, epochs=3, resume_from=path, **{**KW, "seed": 4})
    with pytest.raises(ValueError, match=r"epochs must be >= the 2 epochs"):
        training.train(_vae(), *digits, epochs=1, resume_from=path, **KW)
    with pytest.raises(ValueError, match=r"resume_from: .*another architecture"):
        training.train(
            VAE(data_dim=64, hidden_dim=8, latent_dim=3), *digits, epochs=3, resume_from=path, **KW
        )
    old = tmp_path / "old.pt"
    torch.save(copy.deepcopy(_vae().state_dict()), old)
    with pytest.raises(ValueError, match=r"holds only model weights"):
        training.train(_vae(), *digits, epochs=3, resume_from=old, **KW)
    assert training.load_checkpoint(old)["model"].keys() == _vae().state_dict().keys()
    (tmp_path / "junk.pt").write_text("junk")
    with pytest.raises(training.CheckpointError, match=r"cannot read the checkpoint .*junk\.pt"):
        training.train(_vae(), *digits, epochs=3, resume_from=tmp_path / "junk.pt", **KW)


def test_resume_continues_from_the_last_epoch_when_the_best_is_earlier(
    digits, tmp_path, monkeypatch
):
    """Scores -90, -70, -80, -85: epoch 2 is best, yet 3 + resume 1 must equal 4 straight (the
    file holds epoch 3's state for resuming and epoch 2's model as the best)."""
    scores = {run: iter([-90.0, -70.0, -80.0, -85.0]) for run in ("straight", "split")}
    which = {"run": "straight"}
    monkeypatch.setattr(training, "evaluate", lambda *a, **k: next(scores[which["run"]]))
    straight = _vae()
    h4 = training.train(straight, *digits, epochs=4, **KW)
    which["run"] = "split"
    path = tmp_path / "c.pt"
    training.train(_vae(), *digits, epochs=3, checkpoint_path=path, **KW)
    ckpt = training.load_checkpoint(path)
    assert (ckpt["epoch"], ckpt["best_epoch"]) == (3, 2)
    model = _vae()
    h = training.train(model, *digits, epochs=4, checkpoint_path=path, resume_from=path, **KW)
    assert h.best_epoch == h4.best_epoch == 2
    assert h.train_elbo == h4.train_elbo
    assert _same_params(model, straight)  # both end in epoch 2's state
    last = training.load_checkpoint(path)["last_model"]
    assert not all(torch.equal(last[k], model.state_dict()[k]) for k in last)
