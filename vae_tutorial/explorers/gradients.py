r"""Chapter 5's explorer (being written; see issue 10).

Introduced in the chapter "The reparameterization trick".
"""

from __future__ import annotations

__all__ = ["gradient_variance_explorer"]


def gradient_variance_explorer(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201
    """Placeholder: being written (issue 10)."""
    raise NotImplementedError("gradient_variance_explorer is being written")
