// Under each rendered widget that has controls (sliders, dropdowns, buttons), say what a reader
// of the static page can expect: the controls move, but the figure and numbers beside them are
// the ones saved when the book was built, because the Python that recomputes them needs a
// kernel. The launch buttons (the rocket at the top of the page) open the chapter live.
// Progress bars and other widgets without controls get no note, and so do widgets that work
// with no kernel: those whose controls are tied to precomputed output by front-end links
// (ipywidgets.jslink), marked with the CSS class OFFLINE (vae_tutorial.widgets.OFFLINE_CLASS).
(function () {
  "use strict";
  var VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]';
  var CONTROLS = "input, select, button, textarea, .widget-slider, .slider";
  var OFFLINE = ".vae-offline-widget";
  function annotate() {
    var pending = 0;
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
      note.textContent = "A snapshot: the controls move here, but the output shows the state " +
        "saved when the book was built. To explore, run the chapter live (launch button, " +
        "top of the page: Binder or Colab).";
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
