r"""Chapter 5's explorer (being written; see issue 10).

Introduced in the chapter "The reparameterization trick".
"""

from __future__ import annotations

__all__: list[str] = []
