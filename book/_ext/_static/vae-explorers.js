// Draw each explorer of the page (book/_ext/vega_explorers.py): the Vega-Lite specification
// written by vae_tutorial.explorers is read from its <script type="application/json"> and
// handed to vegaEmbed (served from _static/vega/, no internet). The SVG renderer keeps the
// printed numbers as text; the chart's View is kept on the element (el.vegaView) so that the
// browser test can read the full-precision values behind the printed ones.
(function () {
  "use strict";
  function draw(el) {
    var tag = el.querySelector("script.vae-explorer-spec");
    var target = el.querySelector(".vae-explorer-view");
    if (!tag || !target || el.dataset.drawn) return;
    el.dataset.drawn = "pending";
    var spec = JSON.parse(tag.textContent);
    window.vegaEmbed(target, spec, { renderer: "svg", actions: false, ast: false })
      .then(function (result) {
        el.vegaView = result.view;
        // Each control's accessible name is its visible name (what it sets, with units),
        // without the value that Vega prints after the track (the slider reports that).
        el.querySelectorAll(".vega-bind").forEach(function (bind) {
          var name = bind.querySelector(".vega-bind-name");
          var input = bind.querySelector("input, select");
          if (name && input) input.setAttribute("aria-label", name.textContent.trim());
        });
        el.dataset.drawn = "yes";
      })
      .catch(function (err) {
        el.dataset.drawn = "error";
        target.textContent = "This explorer could not be drawn: " + err;
      });
  }
  function drawAll() {
    if (!window.vegaEmbed) return;
    document.querySelectorAll(".vae-explorer").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
