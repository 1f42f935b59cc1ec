r"""Chapter 6's explorer (being written; see issue 10).

Introduced in the chapter "The joint-likelihood view".
"""

from __future__ import annotations

__all__: list[str] = []
