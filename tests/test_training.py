"""Tests of :mod:`vae_tutorial.training`: a short real run, the checkpoint, divergence handling,
the IWAE objective, and argument checks. Small models and data keep the file fast.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal

from vae_tutorial import checkpoints, data, losses, training
from vae_tutorial.models import VAE


def _states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


@pytest.fixture(scope="module")
def mnist_small(mnist) -> tuple[torch.Tensor, torch.Tensor]:
    """1,000 training images (grey) and 500 test images binarized once (seed 0)."""
    x_test = data.binarize(mnist.x_test[:500], generator=torch.Generator().manual_seed(0))
    return mnist.x_train[:1000], x_test


@pytest.fixture(scope="module")
def digits_small() -> tuple[torch.Tensor, torch.Tensor]:
    d = data.load_digits()
    return d.x_train[:256], data.binarize(
        d.x_test[:100], generator=torch.Generator().manual_seed(0)
    )


def _digits_vae(seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    return VAE(data_dim=64, hidden_dim=32, latent_dim=4)


@pytest.fixture(scope="module")
def short_run(mnist_small, tmp_path_factory):
    """3 epochs on 1,000 MNIST images, hidden_dim 100, with a checkpoint file."""
    x_train, x_test = mnist_small
    torch.manual_seed(0)
    model = VAE(data_dim=784, hidden_dim=100, latent_dim=10)
    before = training.evaluate(model, x_test)
    path = tmp_path_factory.mktemp("ckpt") / "sub" / "best.pt"
    history = training.train(
        model, x_train, x_test, epochs=3, batch_size=100, progress=False, checkpoint_path=path
    )
    return model, history, path, before


def test_short_run_improves_the_test_elbo(short_run, mnist_small):
    model, history, _, before = short_run
    after = training.evaluate(model, mnist_small[1])
    assert after > before + 50.0, f"test ELBO {before:.1f} -> {after:.1f} nats per image"
    assert history.val_elbo[-1] > history.val_elbo[0]
    assert all(math.isfinite(v) for v in history.train_elbo + history.val_elbo)
    # the ELBO of binary 784-pixel images is negative, and far above the untrained value
    assert before < after < 0


def test_history(short_run):
    _, history, path, _ = short_run
    assert history.epoch == [1, 2, 3]
    assert len(history.train_elbo) == len(history.val_elbo) == len(history.seconds) == 3
    assert all(s > 0 for s in history.seconds)
    best = max(range(3), key=lambda i: history.val_elbo[i]) + 1
    assert history.best_epoch == best
    assert history.checkpoint_path == path


def test_model_ends_in_its_best_state(short_run, mnist_small):
    model, history, _, _ = short_run
    score = training.evaluate(model, mnist_small[1])
    assert score == pytest.approx(history.val_elbo[history.best_epoch - 1], abs=1e-3)


def test_checkpoint_is_written_and_loads_into_a_fresh_vae(short_run, mnist_small):
    model, _, path, _ = short_run
    assert path.is_file()
    assert not path.with_suffix(path.suffix + ".tmp").exists()
    state = training.load_checkpoint(path)["model"]
    assert _states_equal(state, model.state_dict())
    fresh = VAE(data_dim=784, hidden_dim=100, latent_dim=10)
    fresh.load_state_dict(state)
    x_test = mnist_small[1]
    assert training.evaluate(fresh, x_test) == training.evaluate(model, x_test)


def test_model_and_checkpoint_are_the_best_epoch_not_the_last(digits_small, tmp_path, monkeypatch):
    """Test ELBOs -90, -70, -80: epoch 2 is best, so the model ends there and so does the file."""
    x_train, x_test = digits_small
    scores = iter([-90.0, -70.0, -80.0])
    states: list[dict] = []

    def fake_evaluate(model, *args, **kwargs):
        states.append(copy.deepcopy(model.state_dict()))  # the state the score belongs to
        return next(scores)

    monkeypatch.setattr(training, "evaluate", fake_evaluate)
    model = _digits_vae()
    path = tmp_path / "best.pt"
    h = training.train(
        model, x_train, x_test, epochs=3, batch_size=64, progress=False, checkpoint_path=path
    )
    assert h.val_elbo == [-90.0, -70.0, -80.0]
    assert h.best_epoch == 2
    assert not _states_equal(states[1], states[2])  # epoch 3 did change the weights
    assert _states_equal(model.state_dict(), states[1])
    assert _states_equal(training.load_checkpoint(path)["model"], states[1])


def test_evaluate_matches_an_independent_elbo(digits_small):
    """evaluate() is the single-sample ELBO with noise from a generator seeded with ``seed``."""
    _, x = digits_small
    model = _digits_vae()
    out = training.evaluate(model, x, seed=5, batch_size=1000)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        std = torch.exp(0.5 * logvar)
        eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(5))
        z = mu + std * eps
        logits = model.decode(z)
        rec = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
        prior = Normal(torch.zeros_like(mu), torch.ones_like(mu))
        kl = torch.distributions.kl_divergence(Normal(mu, std), prior).sum(-1)
    assert out == pytest.approx(float((rec - kl).mean()), rel=1e-5)
    assert model.training  # evaluate puts the model back in its train/eval mode
    model.eval()
    training.evaluate(model, x)
    assert not model.training


def test_trains_on_device(device, digits_small):
    """Model and batches on ``device`` (the data may come from the CPU): one epoch runs."""
    x_train, x_test = digits_small
    model = _digits_vae().to(device)
    h = training.train(model, x_train, x_test, epochs=1, batch_size=64, progress=False)
    assert math.isfinite(h.train_elbo[0]) and math.isfinite(h.val_elbo[0])
    assert {p.device.type for p in model.parameters()} == {device.type}
    # test data already on the device are binarized there
    h = training.train(model, x_train, x_test.to(device), epochs=1, batch_size=64, progress=False)
    assert math.isfinite(h.val_elbo[0])


def test_same_seed_same_run(digits_small):
    x_train, x_test = digits_small
    runs = []
    for _ in range(2):
        model = _digits_vae()
        h = training.train(model, x_train, x_test, epochs=2, batch_size=64, progress=False, seed=7)
        runs.append((h.train_elbo, h.val_elbo, copy.deepcopy(model.state_dict())))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    assert _states_equal(runs[0][2], runs[1][2])


def test_without_test_set_best_is_by_training_objective(digits_small):
    x_train, _ = digits_small
    h = training.train(_digits_vae(), x_train, epochs=2, batch_size=64, progress=False)
    assert all(math.isnan(v) for v in h.val_elbo)
    assert h.best_epoch == max(range(2), key=lambda i: h.train_elbo[i]) + 1


@pytest.mark.parametrize(("objective", "k"), [("iwae", 5), ("elbo", 3)])
def test_objectives_with_k_samples_run(objective, k, digits_small):
    x_train, x_test = digits_small
    model = _digits_vae()
    h = training.train(
        model, x_train, x_test, epochs=2, batch_size=64, objective=objective, k=k, progress=False
    )
    assert h.epoch == [1, 2]
    assert all(math.isfinite(v) for v in h.train_elbo + h.val_elbo)
    assert all(v < 0 for v in h.train_elbo)


def test_iwae_training_objective_is_at_least_the_elbo(digits_small):
    """With the same start, the IWAE bound reported for epoch 1 is >= the ELBO reported."""
    x_train, _ = digits_small
    h_elbo = training.train(
        _digits_vae(),
        x_train,
        epochs=1,
        batch_size=256,
        lr=1e-12,
        progress=False,
        dynamic_binarization=False,
    )
    h_iwae = training.train(
        _digits_vae(),
        x_train,
        epochs=1,
        batch_size=256,
        lr=1e-12,
        objective="iwae",
        k=20,
        progress=False,
        dynamic_binarization=False,
    )
    assert h_iwae.train_elbo[0] > h_elbo.train_elbo[0]


# --------------------------------------------------------------------------------------------
# Divergence
# --------------------------------------------------------------------------------------------


def test_divergence_restores_best_state_and_keeps_the_checkpoint(
    digits_small, tmp_path, monkeypatch
):
    """The objective turns nan in epoch 3: the model goes back to the best of epochs 1-2, which
    is also the file on disk."""
    x_train, x_test = digits_small
    steps_per_epoch = math.ceil(x_train.shape[0] / 64)
    nan_at = 2 * steps_per_epoch + 2  # epoch 3, step 2
    calls = {"n": 0}
    saved: list[dict] = []
    at_divergence: dict = {}
    original_objective, original_save = training._objective, checkpoints.save_atomic

    def objective(model, *args, **kwargs):
        calls["n"] += 1
        bound = original_objective(model, *args, **kwargs)
        if calls["n"] >= nan_at:
            at_divergence.setdefault("state", copy.deepcopy(model.state_dict()))
            return bound * math.nan
        return bound

    def save(state, path):
        saved.append(copy.deepcopy(state))
        original_save(state, path)

    monkeypatch.setattr(training, "_objective", objective)
    monkeypatch.setattr(checkpoints, "save_atomic", save)
    model = _digits_vae()
    path = tmp_path / "best.pt"
    with pytest.raises(training.TrainingDivergedError, match=r"non-finite elbo .* epoch 3"):
        training.train(
            model,
            x_train,
            x_test,
            epochs=5,
            batch_size=64,
            lr=3e-3,
            progress=False,
            checkpoint_path=path,
        )
    assert saved, "epochs 1-2 improved the test ELBO, so a checkpoint was written"
    on_disk = training.load_checkpoint(path)["model"]
    assert _states_equal(on_disk, saved[-1]["model"])  # the last good checkpoint
    assert _states_equal(model.state_dict(), saved[-1]["model"])  # the model is restored to it
    # and that is not where training was when it diverged (epoch 3 had already taken a step)
    assert not _states_equal(model.state_dict(), at_divergence["state"])
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert losses.is_validation_enabled()  # the validation setting survives the error


@pytest.mark.parametrize("with_test_set", [True, False])
def test_last_step_breaking_the_weights_is_caught(digits_small, monkeypatch, with_test_set):
    """Epoch 2's last step has a finite loss but a nan gradient, so its update makes the weights
    nan: the epoch's end catches it, and the model goes back to epoch 1 (with or without a test
    set, where the best epoch is chosen by the training objective)."""
    x_train, x_test = digits_small
    steps_per_epoch = math.ceil(x_train.shape[0] / 64)
    calls = {"n": 0}
    after_epoch_1: dict = {}
    original_objective = training._objective

    def objective(model, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == steps_per_epoch + 1:
            after_epoch_1["state"] = copy.deepcopy(model.state_dict())
        bound = original_objective(model, *args, **kwargs)
        if calls["n"] == 2 * steps_per_epoch:
            bound.register_hook(lambda grad: grad * math.nan)
        return bound

    monkeypatch.setattr(training, "_objective", objective)
    model = _digits_vae()
    with pytest.raises(training.TrainingDivergedError, match=r"non-finite parameters .* epoch 2"):
        training.train(
            model,
            x_train,
            x_test if with_test_set else None,
            epochs=3,
            batch_size=64,
            lr=1e-3,
            progress=False,
        )
    assert _states_equal(model.state_dict(), after_epoch_1["state"])


def test_huge_learning_rate_diverges_and_restores_the_start(digits_small, tmp_path):
    x_train, x_test = digits_small
    model = _digits_vae()
    start = copy.deepcopy(model.state_dict())
    path = tmp_path / "best.pt"
    with pytest.raises(training.TrainingDivergedError, match=r"non-finite elbo"):
        training.train(
            model,
            x_train,
            x_test,
            epochs=2,
            batch_size=64,
            lr=1e12,
            progress=False,
            checkpoint_path=path,
        )
    # no epoch finished, so the best state is the initial one and nothing was saved
    assert _states_equal(model.state_dict(), start)
    assert not path.exists()
    assert issubclass(training.TrainingDivergedError, RuntimeError)


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------

_X = torch.full((8, 64), 0.5)

BAD_ARGS = [
    ("epochs_zero", dict(epochs=0), ValueError, r"epochs must be >= 1; got 0"),
    ("epochs_float", dict(epochs=2.0), TypeError, r"epochs must be an int; got float"),
    ("batch_size_zero", dict(batch_size=0), ValueError, r"batch_size must be >= 1"),
    ("batch_size_bool", dict(batch_size=True), TypeError, r"batch_size must be an int; got bool"),
    ("k_zero", dict(k=0), ValueError, r"k must be >= 1"),
    ("lr_negative", dict(lr=-1e-3), ValueError, r"lr must be >= 0"),
    ("lr_str", dict(lr="1e-3"), TypeError, r"lr must be a real number; got str"),
    ("lr_nan", dict(lr=math.nan), ValueError, r"lr must be finite"),
    ("beta_negative", dict(beta=-1.0), ValueError, r"beta must be >= 0"),
    (
        "objective",
        dict(objective="vlb"),
        ValueError,
        r"objective must be 'elbo' or 'iwae'; got 'vlb'",
    ),
    ("validate", dict(validate="yes"), TypeError, r"enabled must be a bool"),
    (
        "x_train_dim",
        dict(x_train=torch.full((8, 63), 0.5)),
        ValueError,
        r"x_train must have shape \(N, 64\) to match model\.data_dim; got \(8, 63\)",
    ),
    (
        "x_train_1d",
        dict(x_train=torch.full((64,), 0.5)),
        ValueError,
        r"x_train must have at least 2 dimension",
    ),
    (
        "x_train_int",
        dict(x_train=torch.ones(8, 64, dtype=torch.int64)),
        TypeError,
        r"x_train must be a floating-point tensor",
    ),
    ("x_train_list", dict(x_train=[[0.5] * 64]), TypeError, r"x_train must be a torch\.Tensor"),
    (
        "x_train_range",
        dict(x_train=torch.full((8, 64), 1.5)),
        ValueError,
        r"x_train must lie in \[0, 1\]",
    ),
    (
        "x_train_nan",
        dict(x_train=torch.full((8, 64), math.nan)),
        ValueError,
        r"x_train must be finite",
    ),
    (
        "x_val_dim",
        dict(x_val=torch.full((8, 60), 0.5)),
        ValueError,
        r"x_val must have shape \(M, 64\); got \(8, 60\)",
    ),
    (
        "x_val_range",
        dict(x_val=torch.full((8, 64), -0.5)),
        ValueError,
        r"x_val must lie in \[0, 1\]",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"), [b[1:] for b in BAD_ARGS], ids=[b[0] for b in BAD_ARGS]
)
def test_bad_arguments(kwargs, exc, match, tmp_path):
    model = _digits_vae()
    start = copy.deepcopy(model.state_dict())
    kwargs = {"x_train": _X, "x_val": None, "progress": False, **kwargs}
    x_train, x_val = kwargs.pop("x_train"), kwargs.pop("x_val")
    with pytest.raises(exc, match=match):
        training.train(model, x_train, x_val, checkpoint_path=tmp_path / "c.pt", **kwargs)
    assert _states_equal(model.state_dict(), start)  # nothing was trained
    assert not (tmp_path / "c.pt").exists()
    assert losses.is_validation_enabled()


def test_seed_everything_returns_a_seeded_generator():
    g = training.seed_everything(3)
    a = torch.rand(3)
    assert torch.equal(
        torch.rand(3, generator=g), torch.rand(3, generator=torch.Generator().manual_seed(3))
    )
    training.seed_everything(3)
    assert torch.equal(torch.rand(3), a)


# --------------------------------------------------------------------------------------------
# The loop itself, against independent per-example computations (issue 11). The fixtures avoid
# what hid bugs before: N = 50 is not a multiple of the batch size 16 (batches of 16, 16, 16
# and 2), the data are grey, beta != 1 and k > 1, and several seeds are compared.
# --------------------------------------------------------------------------------------------

F64 = torch.float64
N_UNEVEN, BS_UNEVEN, D_SMALL, L_SMALL = 50, 16, 8, 2


def _grey(n: int, seed: int) -> torch.Tensor:
    """``(n, D_SMALL)`` grey images in [0.05, 0.95], float64."""
    g = torch.Generator().manual_seed(seed)
    return 0.05 + 0.9 * torch.rand(n, D_SMALL, generator=g, dtype=F64)


def _sharp_vae(seed: int = 0) -> VAE:
    """A float64 VAE whose encoder always says logvar = -60 (sigma = e^-30 ~ 1e-13).

    Its single-sample ELBO is then deterministic to ~1e-12 nats: z = mu, whatever the noise, so
    a training epoch with ``lr=0`` must report exactly the mean over examples of
    ``log p(x | z = mu) - beta * KL`` computed below, whatever the permutation, noise or k.
    """
    torch.manual_seed(seed)
    model = VAE(data_dim=D_SMALL, hidden_dim=6, latent_dim=L_SMALL).double()
    with torch.no_grad():
        model.encoder_head.weight[L_SMALL:] = 0.0
        model.encoder_head.bias[L_SMALL:] = -60.0
    return model


@torch.no_grad()
def _sharp_elbo_per_example(model: VAE, x: torch.Tensor, beta: float) -> torch.Tensor:
    """ELBO of each example of ``x`` under ``_sharp_vae``, from torch.nn.functional alone."""
    h = model.encoder_head(model.encoder(x))
    mu, logvar = h[:, :L_SMALL], h[:, L_SMALL:]
    # log p(x | z = mu): Bernoulli log-likelihood summed over pixels (grey x allowed)
    rec = -F.binary_cross_entropy_with_logits(model.decoder(mu), x, reduction="none").sum(-1)
    # KL(N(mu, e^logvar) || N(0, I)) = 1/2 sum (mu^2 + e^logvar - 1 - logvar)
    kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(-1)
    return rec - beta * kl  # (N,)


@pytest.mark.parametrize(
    ("objective", "k", "beta"),
    [("elbo", 1, 1.0), ("elbo", 1, 0.3), ("elbo", 3, 2.5)],
)
def test_epoch_value_is_the_mean_over_every_example(objective, k, beta):
    """With lr = 0 the reported training and test values are the per-example means over all 50
    (23) examples: a dropped last batch, a slice off by one or a mean of batch means (the last
    batch has 2 examples) each move the mean by ~0.1 nats; beta moves it by ~30 nats.
    The tolerance is float32 rounding: the loop sums the epoch in float32 whatever the model's
    dtype (relative error ~1e-7 here). (Not the IWAE bound: its weights carry log q(z | x) at
    the sampled z, random even at sigma ~ 0, so its value is not deterministic.)"""
    x_train, x_test = _grey(N_UNEVEN, 1), _grey(23, 2)
    model = _sharp_vae()
    expected_train = float(_sharp_elbo_per_example(model, x_train, beta).mean())
    expected_test = float(_sharp_elbo_per_example(model, x_test, beta).mean())
    h = training.train(
        model, x_train, x_test, epochs=2, batch_size=BS_UNEVEN, lr=0.0, beta=beta,
        objective=objective, k=k, dynamic_binarization=False, progress=False, seed=3,
    )
    assert h.train_elbo == pytest.approx([expected_train] * 2, rel=1e-6)
    assert h.val_elbo == pytest.approx([expected_test] * 2, rel=1e-10)


def test_epoch_value_with_dynamic_binarization_of_binary_data():
    """Binary data are their own binarization, so the default path (dynamic binarization on)
    also reports the exact per-example mean."""
    x = (_grey(N_UNEVEN, 4) > 0.5).to(F64)
    model = _sharp_vae(1)
    expected = float(_sharp_elbo_per_example(model, x, 0.7).mean())
    h = training.train(model, x, epochs=1, batch_size=BS_UNEVEN, lr=0.0, beta=0.7, progress=False)
    assert h.train_elbo[0] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("batch_size", [1, 7, 16, 36, 37, 1000])
@pytest.mark.parametrize("beta", [1.0, 0.4])
def test_evaluate_is_the_mean_over_every_example(batch_size, beta):
    """37 grey examples in uneven batches: evaluate() averages every one of them once."""
    x = _grey(37, 5)
    model = _sharp_vae(2)
    expected = float(_sharp_elbo_per_example(model, x, beta).mean())
    got = training.evaluate(model, x, batch_size=batch_size, beta=beta, seed=1)
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-9)


def _spy_inputs(model: VAE) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Record what ``model.encode`` sees, apart for training steps and for evaluation."""
    train_seen: list[torch.Tensor] = []
    eval_seen: list[torch.Tensor] = []
    encode = model.encode

    def spy(x):
        (train_seen if model.training else eval_seen).append(x.detach().clone())
        return encode(x)

    model.encode = spy
    return train_seen, eval_seen


def _epochs(seen: list[torch.Tensor], steps: int) -> list[torch.Tensor]:
    """Concatenate the recorded batches epoch by epoch: ``(N, D)`` per epoch."""
    assert len(seen) % steps == 0, f"{len(seen)} batches, not a multiple of {steps}"
    return [torch.cat(seen[i : i + steps]) for i in range(0, len(seen), steps)]


def _sorted_rows(x: torch.Tensor) -> torch.Tensor:
    return x[torch.argsort(x[:, 0])]


def test_each_epoch_visits_every_example_once():
    """Without binarization the batches of one epoch are a permutation of the training set:
    every example once, none twice, the last partial batch (2 examples) included."""
    x = _grey(N_UNEVEN, 6)
    model = _sharp_vae()
    seen, _ = _spy_inputs(model)
    training.train(
        model, x, epochs=3, batch_size=BS_UNEVEN, lr=0.0, dynamic_binarization=False,
        progress=False,
    )
    steps = math.ceil(N_UNEVEN / BS_UNEVEN)
    assert [b.shape[0] for b in seen[:steps]] == [16, 16, 16, 2]
    epochs = _epochs(seen, steps)
    assert len(epochs) == 3
    for rows in epochs:
        torch.testing.assert_close(_sorted_rows(rows), _sorted_rows(x), rtol=0, atol=0)
    # and the order changes from epoch to epoch (a fresh permutation each time)
    assert not torch.equal(epochs[0], epochs[1])


def test_dynamic_binarization_trains_on_fresh_bernoulli_draws():
    """Grey data, dynamic binarization on: every training input is binary, the draws differ
    from epoch to epoch, and the pixel total over 40 epochs is within 4 standard errors of
    its Bernoulli expectation sum(x) per epoch. The test set is binarized once: every
    evaluation sees the same binary images."""
    x, x_test = _grey(N_UNEVEN, 7), _grey(11, 8)
    model = _sharp_vae()
    seen, seen_eval = _spy_inputs(model)
    epochs = 40
    training.train(
        model, x, x_test, epochs=epochs, batch_size=BS_UNEVEN, lr=0.0, progress=False, seed=2
    )
    per_epoch = _epochs(seen, math.ceil(N_UNEVEN / BS_UNEVEN))
    every = torch.cat(per_epoch)
    assert bool(((every == 0) | (every == 1)).all()), "training inputs must be binarized"
    assert not torch.equal(_sorted_rows(per_epoch[0]), _sorted_rows(per_epoch[1]))
    # sum of Bernoulli(x_ij) draws: mean epochs * sum(x), variance epochs * sum(x (1 - x))
    mean, var = epochs * float(x.sum()), epochs * float((x * (1 - x)).sum())
    z = (float(every.sum()) - mean) / math.sqrt(var)
    assert abs(z) < 4, f"n={every.numel()}: total {float(every.sum())}, expected {mean}, z={z}"
    assert len(seen_eval) == epochs
    assert all(bool(((t == 0) | (t == 1)).all()) for t in seen_eval)
    assert all(torch.equal(t, seen_eval[0]) for t in seen_eval)


def test_other_seed_other_run_and_the_global_rng_does_not_matter():
    """Seed 0 vs 1 from the same start: different permutations, noise and binarization, so a
    different run. The same seed gives the same run whatever state the global generator was
    left in beforehand (the seed drives all of the run's randomness)."""
    x, x_test = _grey(N_UNEVEN, 9), _grey(12, 10)

    def run(seed: int, global_seed: int) -> tuple[list[float], dict]:
        torch.manual_seed(0)
        model = VAE(data_dim=D_SMALL, hidden_dim=6, latent_dim=L_SMALL).double()
        torch.manual_seed(global_seed)  # a different global state before the run
        h = training.train(
            model, x, x_test, epochs=2, batch_size=BS_UNEVEN, lr=1e-2, progress=False, seed=seed
        )
        return h.train_elbo + h.val_elbo, copy.deepcopy(model.state_dict())

    base = run(0, 100)
    same = run(0, 200)
    assert base[0] == same[0]
    assert _states_equal(base[1], same[1])
    for seed in (1, 2):
        other = run(seed, 100)
        assert other[0][0] != base[0][0], f"seed {seed} gave the same training ELBO as seed 0"
        assert not _states_equal(other[1], base[1])


@pytest.mark.parametrize(("objective", "k"), [("elbo", 1), ("elbo", 3), ("iwae", 5)])
def test_k_samples_per_example_are_decoded(objective, k):
    """Every training step decodes k latent samples per example ((k, B, L) for k > 1)."""
    x = _grey(N_UNEVEN, 11)
    model = _sharp_vae()
    shapes: list[tuple[int, ...]] = []
    decode = model.decode

    def spy(z):
        if model.training:
            shapes.append(tuple(z.shape))
        return decode(z)

    model.decode = spy
    training.train(model, x, epochs=1, batch_size=BS_UNEVEN, lr=0.0, objective=objective, k=k,
                   progress=False)
    sizes = [16, 16, 16, 2]
    if objective == "elbo" and k == 1:
        assert shapes == [(b, L_SMALL) for b in sizes]
    else:
        assert shapes == [(k, b, L_SMALL) for b in sizes]


def test_iwae_training_value_grows_with_k():
    """lr = 0, q(z|x) = N(0, I) and a sensitive decoder: the reported IWAE value with k = 64 is
    far above k = 1 (the single-sample ELBO). Measured independently with VAE.log_weights, the
    expected gap is ~18 nats per example; the standard error of the k = 1 epoch value is ~2.3
    (of k = 64, ~0.08). Requiring half the gap leaves ~4 standard errors on each side, so the
    test fails when k is ignored (gap 0) and passes otherwise, each with probability > 0.9999."""
    x = (_grey(64, 12) > 0.5).to(F64)
    torch.manual_seed(3)
    model = VAE(data_dim=D_SMALL, hidden_dim=6, latent_dim=L_SMALL).double()
    with torch.no_grad():
        model.encoder_head.weight.zero_()
        model.encoder_head.bias.zero_()  # q(z|x) = N(0, I): the prior
        for p in model.decoder.parameters():
            p.mul_(6.0)
        lw = model.log_weights(x, 64 * 64, generator=torch.Generator().manual_seed(0))  # (K, N)
        # E[L_64] - E[L_1], from 64 independent L_64 per example and the mean log weight
        iwae_64 = losses.iwae_bound(lw.reshape(64, 64, -1), reduction="none")  # (64, N)
        gap = float((iwae_64.mean(0) - lw.mean(0)).mean())
    values = {}
    for k in (1, 64):
        h = training.train(model, x, epochs=1, batch_size=16, lr=0.0, objective="iwae", k=k,
                           dynamic_binarization=False, progress=False, seed=4)
        values[k] = h.train_elbo[0]
    assert gap > 10.0, f"fixture too weak: expected gap {gap}"
    assert values[64] - values[1] > 0.5 * gap, (values, gap)


@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize("bad_call", [5, 13 + 7])
def test_divergence_names_the_step_and_validate_checks_every_step(validate, bad_call):
    """The objective is nan at one step (epoch 1 step 5, or epoch 2 step 7, 13 steps per epoch).
    The error names that epoch and step; with validate=True no further step runs."""
    x = _grey(52, 13)  # 13 steps of 4
    calls = {"n": 0}
    original = training._objective

    def objective(*args, **kwargs):
        calls["n"] += 1
        bound = original(*args, **kwargs)
        return bound * math.nan if calls["n"] == bad_call else bound

    mp = pytest.MonkeyPatch()
    mp.setattr(training, "_objective", objective)
    try:
        epoch, step = divmod(bad_call - 1, 13)
        with pytest.raises(
            training.TrainingDivergedError,
            match=rf"non-finite elbo \(nan\) at epoch {epoch + 1}, step {step + 1};",
        ):
            training.train(_sharp_vae(), x, epochs=3, batch_size=4, lr=1e-3, progress=False,
                           validate=validate)
    finally:
        mp.undo()
    if validate:
        assert calls["n"] == bad_call
    else:  # checked every 32 steps and at each epoch's end
        assert calls["n"] == 13 * (epoch + 1)


def test_elbo_with_k_samples_averages_them():
    """objective="elbo" with k = 16 averages 16 reconstruction terms per example, so with
    lr = 0 the epoch values (fresh noise every epoch) vary 16 times less than with k = 1.
    With 40 epochs each, the ratio of the two sample variances is 16 F(39, 39); the threshold 4
    is crossed under k = 16 with probability P(F < 1/4) ~ 1e-5, and under k ignored (ratio
    F(39, 39)) with probability P(F > 4) ~ 1e-5: power ~ 1 - 1e-5 at a false-failure rate of
    ~1e-5 (the seed is fixed, so the outcome is deterministic)."""
    x = (_grey(64, 14) > 0.5).to(F64)
    torch.manual_seed(5)
    model = VAE(data_dim=D_SMALL, hidden_dim=6, latent_dim=L_SMALL).double()
    with torch.no_grad():
        model.encoder_head.weight.zero_()
        model.encoder_head.bias.zero_()  # q(z|x) = N(0, I)
        for p in model.decoder.parameters():
            p.mul_(6.0)
    variances = {}
    for k in (1, 16):
        h = training.train(model, x, epochs=40, batch_size=64, lr=0.0, k=k,
                           dynamic_binarization=False, progress=False, seed=6)
        variances[k] = torch.tensor(h.train_elbo, dtype=F64).var().item()
    assert variances[1] > 4 * variances[16], variances


# --- model selection on validation data (x_val), never on the test set ----------------------


def test_train_never_steps_on_the_validation_examples():
    """A split of 60 distinct grey images (50 to fit, 10 to validate, by
    ``data.train_validation_split``): every training step sees only the 50 fitting images,
    each once per epoch, and every evaluation only the 10 validation images, so no validation
    example is ever trained on."""
    x = _grey(60, 15)
    x_fit, x_val = data.train_validation_split(x, fraction=1 / 6, seed=4)
    assert (x_fit.shape[0], x_val.shape[0]) == (50, 10)
    model = _sharp_vae(3)
    seen, seen_eval = _spy_inputs(model)
    training.train(model, x_fit, x_val, epochs=3, batch_size=BS_UNEVEN, lr=1e-3,
                   dynamic_binarization=False, progress=False, seed=1)
    steps = math.ceil(50 / BS_UNEVEN)
    for rows in _epochs(seen, steps):
        torch.testing.assert_close(_sorted_rows(rows), _sorted_rows(x_fit), rtol=0, atol=0)
    trained_on = torch.cat(seen)
    # no training row equals any validation row (the images are distinct: continuous draws)
    assert not bool((trained_on[:, None, :] == x_val[None, :, :]).all(-1).any())
    assert len(seen_eval) == 3  # one evaluation per epoch, on the validation images only
    for rows in seen_eval:
        torch.testing.assert_close(rows, x_val, rtol=0, atol=0)


def test_best_epoch_is_the_one_with_the_best_validation_elbo(monkeypatch, tmp_path):
    """Validation ELBOs -70, -80, -90 while the training objective rises: the best epoch is
    epoch 1 (chosen on x_val, not on the training objective nor the last epoch), evaluate()
    is called with the validation images, and the checkpoint says it selected on validation."""
    x_fit, x_val = _grey(N_UNEVEN, 16), (_grey(9, 17) > 0.5).to(F64)
    scores = iter([-70.0, -80.0, -90.0])
    evaluated: list[torch.Tensor] = []

    def fake_evaluate(model, x, *args, **kwargs):
        evaluated.append(x.clone())
        return next(scores)

    monkeypatch.setattr(training, "evaluate", fake_evaluate)
    torch.manual_seed(0)
    model = VAE(data_dim=D_SMALL, hidden_dim=6, latent_dim=L_SMALL).double()
    path = tmp_path / "c.pt"
    h = training.train(model, x_fit, x_val, epochs=3, batch_size=BS_UNEVEN, lr=1e-2,
                       progress=False, checkpoint_path=path)
    assert h.val_elbo == [-70.0, -80.0, -90.0]
    assert h.train_elbo[-1] > h.train_elbo[0]  # training improved; selection ignores it
    assert h.best_epoch == 1
    assert len(evaluated) == 3
    for x in evaluated:  # binary validation images: their binarization is themselves
        torch.testing.assert_close(x, x_val, rtol=0, atol=0)
    ckpt = training.load_checkpoint(path)
    assert (ckpt["selected_on"], ckpt["best_epoch"], ckpt["best_score"]) == ("validation", 1, -70.0)


def test_the_old_x_test_keyword_is_refused_and_names_x_val():
    model, x = _sharp_vae(), _grey(8, 18)
    with pytest.raises(TypeError, match=r"x_val .*x_test= is no longer accepted"):
        training.train(model, x, x_test=x, epochs=1, progress=False)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'x_vall'"):
        training.train(model, x, x_vall=x, epochs=1, progress=False)


def test_history_test_elbo_says_it_is_now_val_elbo():
    with pytest.raises(AttributeError, match=r"History\.test_elbo was renamed History\.val_elbo"):
        _ = training.History().test_elbo
