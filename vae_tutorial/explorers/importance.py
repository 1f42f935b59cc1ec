r"""Chapter 4's explorer (being written; see issue 10).

Introduced in the chapter "Importance sampling".
"""

from __future__ import annotations

__all__ = ["importance_sampling_explorer"]


def importance_sampling_explorer(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201
    """Placeholder: being written (issue 10)."""
    raise NotImplementedError("importance_sampling_explorer is being written")
