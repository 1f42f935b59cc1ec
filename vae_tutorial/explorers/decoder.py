r"""Chapter 7's explorer (being written; see issue 10).

Introduced in the chapter "A VAE on real digits".
"""

from __future__ import annotations

__all__: list[str] = []
