r"""Chapter 4's explorer (being written; see issue 10).

Introduced in the chapter "Importance sampling".
"""

from __future__ import annotations

__all__: list[str] = []
