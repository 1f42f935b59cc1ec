r"""The explorers in JupyterLab, offline: each chapter opened as a reader who runs it would.

Every chapter notebook (with its saved outputs) is copied to a temporary folder and opened in
a headless JupyterLab served on 127.0.0.1 (the environment's own ``jupyter-lab``, no extension
installed beyond JupyterLab's; every request to another host aborted). JupyterLab draws the
explorers' ``application/vnd.vegalite.v5+json`` outputs with its own Vega renderer; the test
moves every slider of every explorer with the mouse and requires, after each move, a new slider
value and a new drawing (the canvas's pixels). Chapter 6 is then run in a live kernel
(Run > Run All Cells) and its explorer, drawn again by the kernel's output, is moved the same
way. The numbers themselves are compared with the package by ``tests/test_explorer_*.py`` on
the built book: the specification drawn here is the same one.

Skipped where Playwright, Chromium or ``jupyter-lab`` is missing. About a minute.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_browser import CHROMIUM_ARGS, _chromium

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("0*.ipynb"))
#: Explorers per chapter (chapter 7 has the interpolation and the traversal).
EXPECTED = {"07": 2}
TIMEOUT_MS = 180_000

# The explorer's slider values, and its drawing: JupyterLab's renderer draws on a canvas (its
# pixels), an SVG renderer would leave text and marks.
READ_JS = """el => [[...el.querySelectorAll('input[type=range]')].map(i => i.value).join(','),
  [...el.querySelectorAll('.vega-embed canvas')].map(c => c.toDataURL()).join('|') +
  [...el.querySelectorAll('svg text')].map(t => t.textContent).join('|') +
  [...el.querySelectorAll('svg path, svg rect')].map(p => (p.getAttribute('d') || '')
     + (p.getAttribute('fill') || '') + (p.getAttribute('x') || '')).join('')]"""
NAMES_JS = "el => [...el.querySelectorAll('.vega-bind-name')].map(n => n.textContent).join('|')"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright's Python package is not installed")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium found: `apt-get install chromium` or set CHROMIUM=/path")
    jupyter_lab = Path(sys.executable).with_name("jupyter-lab")
    if not jupyter_lab.is_file():
        pytest.skip("jupyter-lab is not installed in this environment")
    folder = tmp_path_factory.mktemp("lab")
    for nb in CHAPTERS:
        shutil.copy(nb, folder)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [str(jupyter_lab), "--no-browser", f"--port={port}", "--ServerApp.token=",
         "--ServerApp.password=", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={folder}",
         "--allow-root", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    external: list[str] = []
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1366, "height": 1000})
            context.route("**/*", lambda r: r.continue_()
                          if urlsplit(r.request.url).hostname == "127.0.0.1"
                          else (external.append(r.request.url), r.abort())[1])
            page = context.new_page()
            for _ in range(60):  # the server takes a few seconds to start
                try:
                    page.goto(f"http://127.0.0.1:{port}/lab", timeout=TIMEOUT_MS)
                    break
                except Exception:  # noqa: BLE001 (playwright's Error: not listening yet)
                    time.sleep(1)
            yield page, f"http://127.0.0.1:{port}", external
            browser.close()
    finally:
        server.terminate()
        server.wait(30)


def _open(page, base: str, name: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/lab/tree/{name}?reset", timeout=TIMEOUT_MS)
    page.locator(".jp-Cell").first.wait_for(state="visible", timeout=TIMEOUT_MS)
    time.sleep(3)


def _move_every_explorer(page, want: int) -> list[list[str]]:  # noqa: ANN001
    """Scroll through the notebook (it attaches only the cells in view) and move every slider
    of each explorer met; per explorer, per slider: "moved/redrawn" or what failed."""
    done: dict[str, list[str]] = {}
    for _ in range(300):
        outputs = page.locator(
            ".jp-OutputArea-output:has(.vega-embed canvas, .vega-embed svg.marks)")
        for i in range(outputs.count()):
            out = outputs.nth(i)
            key = out.evaluate(NAMES_JS)
            if key in done:
                continue
            out.scroll_into_view_if_needed()
            sliders = out.locator("input[type=range]")
            results = []
            for j in range(sliders.count()):
                slider = sliders.nth(j)
                slider.scroll_into_view_if_needed()
                before = out.evaluate(READ_JS)
                for frac in (0.9, 0.1):  # a second click if the first hit the current value
                    box = slider.bounding_box()
                    page.mouse.click(box["x"] + frac * box["width"],
                                     box["y"] + box["height"] / 2)
                    time.sleep(0.4)
                    after = out.evaluate(READ_JS)
                    if after[0] != before[0]:
                        break
                results.append(("moved" if after[0] != before[0] else "not moved") + "/"
                               + ("redrawn" if after[1] != before[1] else "same drawing"))
            done[key] = results
        if len(done) >= want:
            break
        page.mouse.move(700, 500)
        page.mouse.wheel(0, 1500)
        time.sleep(0.2)
    return list(done.values())


@pytest.mark.parametrize("notebook", [p.name for p in CHAPTERS])
def test_saved_explorers_respond_in_jupyterlab(lab, notebook):
    page, base, external = lab
    want = EXPECTED.get(notebook[:2], 1)
    _open(page, base, notebook)
    found = _move_every_explorer(page, want)
    assert len(found) == want, f"{notebook}: {len(found)} of {want} explorers drawn"
    assert all(r == "moved/redrawn" for sliders in found for r in sliders), found
    assert all(sliders for sliders in found), f"an explorer without sliders: {found}"
    assert not external, external


def test_explorer_responds_after_a_live_run(lab):
    page, base, external = lab
    _open(page, base, "06_joint_likelihood.ipynb")
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    # the kernel busy, then idle again: it has run the chapter and redrawn its outputs
    time.sleep(3)
    page.wait_for_function(
        "() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status"
        " === 'idle'", timeout=TIMEOUT_MS)
    time.sleep(2)
    page.evaluate("() => document.querySelector('.jp-WindowedPanel-outer')?.scrollTo(0, 0)")
    found = _move_every_explorer(page, 1)
    assert found and all(r == "moved/redrawn" for r in found[0]), found
    assert not external, external
