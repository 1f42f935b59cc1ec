"""Show the repository, issues and launch buttons only where the book has a repository.

The book's public address is one setting, ``repository.url`` in ``_config.yml`` (Jupyter Book 1
passes it to sphinx-book-theme as ``html_theme_options["repository_url"]``). The header buttons
that need it follow that one setting here, at ``config-inited``, before the theme reads its
options:

* ``repository.url`` empty (the default: the project has no public repository yet): the
  repository, issues, edit and source buttons and every launch button (Binder, Colab,
  JupyterHub, Deepnote, JupyterLite, Thebe) are off, so no page links to an address that does
  not exist. The download button (the notebook as ``.ipynb``, the page as PDF) stays.
* ``repository.url`` set: the repository and issues buttons are turned on, and the launch
  buttons configured under ``launch_buttons`` in ``_config.yml`` (Binder, Colab) render; all
  point at it. The address must be ``https://<host>/<owner>/<name>`` on GitHub, GitLab or
  Bitbucket (the theme derives the Binder and Colab links from its last two parts); anything
  else is a build warning and the buttons stay off.

The two buttons are switched here, not with ``html.use_repository_button`` and
``html.use_issues_button`` in ``_config.yml``: Jupyter Book 1 stops the build where those are
true and the url is empty.

``python -m tools.repository URL`` sets the address in ``_config.yml`` and copies it into every
chapter's Colab install cell; ``python -m tools.repository --check`` checks that they agree.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: What ``repository.url`` must look like where it is set (same rule as tools/repository.py).
URL_PATTERN = re.compile(
    r"https://(github\.com|gitlab\.com|bitbucket\.org)/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"
)
#: Turned on where the address is set.
SHOWN_WITH_URL = ("use_repository_button", "use_issues_button")
#: Theme options that put a link to the repository in the page header.
REPOSITORY_BUTTONS = (
    "use_repository_button",
    "use_issues_button",
    "use_edit_page_button",
    "use_source_button",
)
#: Launch-button settings that open the chapter in a service built from the repository.
LAUNCH_SERVICES = ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url",
                   "jupyterlite_url")


def repository_url(config) -> str:
    """The book's repository address, ``""`` where it is not set."""
    options = getattr(config, "html_theme_options", None) or {}
    return str(options.get("repository_url") or "").strip()


def _follow_repository_url(app: Sphinx, config) -> None:
    options = dict(config.html_theme_options or {})
    url = repository_url(config)
    if url and not URL_PATTERN.fullmatch(url):
        logger.warning(
            "repository.url %r is not https://<github.com|gitlab.com|bitbucket.org>/<owner>/"
            "<name>; the repository and launch buttons are left out", url,
            type="repository", subtype="url")
        url = ""
    if url:
        for key in SHOWN_WITH_URL:
            options[key] = True
        config.html_theme_options = options
        return
    options["repository_url"] = ""
    for key in REPOSITORY_BUTTONS:
        options[key] = False
    launch = dict(options.get("launch_buttons") or {})
    for key in LAUNCH_SERVICES:
        if key in launch:
            launch[key] = ""
    launch["thebe"] = False
    options["launch_buttons"] = launch
    config.html_theme_options = options


def _drop_stale_source_pages(app: Sphinx) -> None:
    # sphinx.ext.viewcode writes a module's source page (_modules/...) again only where the
    # module is newer than the page, so after the address changes, an incremental build would
    # keep those pages with the old header buttons. Where the address differs from the last
    # HTML build's (noted beside the doctrees, not in the site), drop them; viewcode writes
    # them anew.
    if app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    stamp = Path(app.doctreedir) / "repository_url.txt"
    url = repository_url(app.config)
    last = stamp.read_text(encoding="utf-8") if stamp.is_file() else None
    if last != url:
        shutil.rmtree(outdir / "_modules", ignore_errors=True)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(url, encoding="utf-8")


def setup(app: Sphinx) -> dict:
    # Before sphinx-book-theme's builder-inited and html-page-context handlers read the options.
    app.connect("config-inited", _follow_repository_url)
    app.connect("builder-inited", _drop_stale_source_pages)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
