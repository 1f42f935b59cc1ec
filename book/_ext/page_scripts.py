"""Drop duplicate ``<script>`` entries from every page, so the pages raise no JavaScript error.

sphinx-thebe 0.3 (loaded by Jupyter Book even with launch button ``thebe: false``) adds its
inline ``const THEBE_JS_URL = ...`` script (like sphinx-togglebutton its selector) twice under
Sphinx 7, and the second copy throws "Identifier 'THEBE_JS_URL' has already been declared"
on every page. A page needs each script once, so identical entries (same file, same
attributes, same inline body) are kept only the first time. ``tests/test_browser.py``
fails on any page error.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _signature(script) -> tuple:
    # An inline script is registered once with filename None (on the builder) and once with ""
    # (from the registry): the same script.
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _dedupe_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        key = _signature(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app: Sphinx) -> dict:
    # Late, so it sees the scripts other extensions add per page.
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
