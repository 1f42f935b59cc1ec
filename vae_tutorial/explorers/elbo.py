r"""Chapter 3's explorer (being written; see issue 10).

Introduced in the chapter "Jensen's inequality and the ELBO".
"""

from __future__ import annotations

__all__: list[str] = []
