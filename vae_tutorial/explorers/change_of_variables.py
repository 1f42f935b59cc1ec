r"""Chapter 6's explorer (being written; see issue 10).

Introduced in the chapter "The joint-likelihood view".
"""

from __future__ import annotations

__all__ = ["change_of_variables_explorer"]


def change_of_variables_explorer(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201
    """Placeholder: being written (issue 10)."""
    raise NotImplementedError("change_of_variables_explorer is being written")
