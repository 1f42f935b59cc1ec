r"""Chapter 7's explorer (being written; see issue 10).

Introduced in the chapter "A VAE on real digits".
"""

from __future__ import annotations

__all__ = ["latent_traversal_explorer", "interpolation_explorer"]


def latent_traversal_explorer(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201
    """Placeholder: being written (issue 10)."""
    raise NotImplementedError("latent_traversal_explorer is being written")


def interpolation_explorer(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201
    """Placeholder: being written (issue 10)."""
    raise NotImplementedError("interpolation_explorer is being written")
