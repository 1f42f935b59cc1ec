// Under each rendered widget that has controls (sliders, dropdowns, buttons), say what a reader
// of the static page can expect: the controls move, but the figure and numbers beside them are
// the ones saved when the book was built, because the Python that recomputes them needs a
// kernel. The note says how to get one: run the chapter in Jupyter with the book's environment
// (README: `make env`, `.venv/bin/jupyter lab`; the notebook is also under the download button,
// ".ipynb"). Only where the page has launch buttons (the book's repository address,
// repository.url in _config.yml, is set) does it point to them too (Binder or Colab).
// Progress bars and other widgets without controls get no note, and so do widgets that work
// with no kernel: those whose controls are tied to precomputed output by front-end links
// (ipywidgets.jslink), marked with the CSS class OFFLINE (vae_tutorial.widgets.OFFLINE_CLASS).
(function () {
  "use strict";
  var VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]';
  var CONTROLS = "input, select, button, textarea, .widget-slider, .slider";
  var OFFLINE = ".vae-offline-widget";
  var LAUNCH = ".dropdown-launch-buttons a[href]";
  // Constant markup (no page content in it), so innerHTML is safe.
  function noteHtml() {
    var html = "A snapshot: the controls move, but this explorer recomputes in Python, so the " +
      "output stays as saved when the book was built. To explore, run the chapter in Jupyter: " +
      "in the book's source folder, <code>make env</code>, then <code>.venv/bin/jupyter " +
      "lab</code> (the notebook is also under the download button, top of the page)";
    if (document.querySelector(LAUNCH)) {
      html += ", or open it live with the launch button (the rocket, top of the page)";
    }
    return html + ".";
  }
  function annotate() {
    var pending = 0;
    var html = noteHtml();
    document.querySelectorAll(VIEW).forEach(function (tag) {
      var view = tag.previousElementSibling;
      if (!view || !view.classList.contains("widget-subarea") || !view.childElementCount) {
        pending += 1;
        return;
      }
      var next = tag.nextElementSibling;
      if (next && next.classList.contains("widget-static-note")) return;
      if (!view.querySelector(CONTROLS) || view.querySelector(OFFLINE)) return;
      var note = document.createElement("p");
      note.className = "widget-static-note";
      note.style.cssText = "font-size: 0.85em; font-style: italic; opacity: 0.75; margin: 0.3em 0 0;";
      note.innerHTML = html;
      tag.parentNode.insertBefore(note, tag.nextSibling);
    });
    return pending;
  }
  window.addEventListener("load", function () {
    var tries = 0;
    (function poll() {
      if (annotate() > 0 && ++tries < 40) setTimeout(poll, 250);
    })();
  });
})();
