r"""Chapter 3's explorer (being written; see issue 10).

Introduced in the chapter "Jensen's inequality and the ELBO".
"""

from __future__ import annotations

__all__ = ["elbo_explorer"]


def elbo_explorer(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201
    """Placeholder: being written (issue 10)."""
    raise NotImplementedError("elbo_explorer is being written")
