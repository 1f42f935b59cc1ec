"""vae_tutorial: the tested PyTorch package behind the book *VAE, Derived*.

Modules, one concept each: :mod:`~vae_tutorial.losses` (the homework API),
:mod:`~vae_tutorial.likelihoods`, :mod:`~vae_tutorial.sampling`, :mod:`~vae_tutorial.surrogates`,
:mod:`~vae_tutorial.estimators`, :mod:`~vae_tutorial.quadrature`, :mod:`~vae_tutorial.models`,
:mod:`~vae_tutorial.diagnostics`, :mod:`~vae_tutorial.variational`, :mod:`~vae_tutorial.joint`,
:mod:`~vae_tutorial.data`, :mod:`~vae_tutorial.training`, :mod:`~vae_tutorial.checkpoints`,
:mod:`~vae_tutorial.plotting` and :mod:`~vae_tutorial.explorers`.

Submodules are imported on first use (PEP 562): ``import vae_tutorial.losses`` imports
``losses`` and its validation helpers only (no tqdm, matplotlib, scikit-learn, mlxtend or
IPython), and ``vae_tutorial.training`` imports ``training`` when it is first read.
"""

from __future__ import annotations

import importlib

__all__ = [
    "checkpoints",
    "data",
    "diagnostics",
    "estimators",
    "explorers",
    "joint",
    "likelihoods",
    "losses",
    "models",
    "plotting",
    "quadrature",
    "sampling",
    "surrogates",
    "training",
    "variational",
]
__version__ = "0.1.0"

# importable on first access, but not listed in __all__ (``from vae_tutorial import *``)
_DEPRECATED = ("inference",)


def __getattr__(name: str) -> object:
    if name in __all__ or name in _DEPRECATED:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
