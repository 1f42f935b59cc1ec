// Draw each explorer of the page (book/_ext/vega_explorers.py): the Vega-Lite specification
// written by vae_tutorial.explorers is read from its <script type="application/json"> and
// handed to vegaEmbed (served from _static/vega/, no internet). The SVG renderer keeps the
// printed numbers as text; the chart's View is kept on the element (el.vegaView) so that the
// browser test can read the full-precision values behind the printed ones.
//
// On a column narrower than the drawing (a phone), the drawing is not scaled down (its text
// would print at 7-10 px): the specification is drawn again with every panel as wide as the
// column allows. The panels' width is the specification's usermeta.panel_width; each panel of
// that width gets the column's width less what the drawing needs beside its panels (axes,
// legends), as measured on the drawing before. The same happens when the column's width
// changes (rotation, resize), keeping the controls' values. Each legend's entries are then
// stacked, and a parameter named panel_width (if the specification has one) gets the width, so
// that a readout can put its columns one under the other. The specification itself is valid
// Vega-Lite that JupyterLab draws as it is.
(function () {
  "use strict";
  var MIN_PANEL = 160;  // narrower panels would squeeze the curves; the CSS scales instead

  // A copy of spec with every "width": from replaced by "width": to (panels, not marks).
  function withWidth(node, from, to) {
    if (Array.isArray(node)) return node.map(function (n) { return withWidth(n, from, to); });
    if (!node || typeof node !== "object") return node;
    var out = {};
    Object.keys(node).forEach(function (k) {
      out[k] = (k === "width" && node[k] === from) ? to : withWidth(node[k], from, to);
    });
    return out;
  }

  // The specification with the bound parameters at the values the reader set.
  function withValues(spec, view) {
    if (!view || !spec.params) return spec;
    var out = Object.assign({}, spec);
    out.params = spec.params.map(function (p) {
      if (!p.bind) return p;
      try { return Object.assign({}, p, { value: view.signal(p.name) }); } catch (e) { return p; }
    });
    return out;
  }

  function svgWidth(target) {
    var svg = target.querySelector("svg");
    return svg ? parseFloat(svg.getAttribute("width")) : NaN;
  }

  function embed(el, spec, width) {
    var state = el.vaeExplorer;
    var holder = document.createElement("div");
    holder.className = "vae-explorer-view-inner";
    var drawn = spec;
    if (state.panel && width !== state.full) {
      // narrower panels, and each legend's entries one under the other (a row of them would
      // be wider than the panel)
      drawn = withWidth(spec, state.full, width);
      drawn.config = Object.assign({}, drawn.config);
      drawn.config.legend = Object.assign({}, drawn.config.legend, { columns: 1 });
      // a parameter named panel_width (no control) tells the expressions the panels' width
      if (drawn.params) {
        drawn.params = drawn.params.map(function (p) {
          return p.name === "panel_width" && !p.bind ? Object.assign({}, p, { value: width }) : p;
        });
      }
    }
    // a redrawing is made out of sight over the old one and swapped in: the page does not jump
    if (state.holder) holder.className += " vae-explorer-redraw";
    state.target.appendChild(holder);
    return window.vegaEmbed(holder, drawn, { renderer: "svg", actions: false, ast: false })
      .then(function (result) {
        var old = state.holder;
        if (old && old !== holder) {
          if (el.vegaView) el.vegaView.finalize();
          old.remove();
        }
        holder.classList.remove("vae-explorer-redraw");
        state.holder = holder;
        state.width = width;
        el.vegaView = result.view;
        // Each control's accessible name is its visible name (what it sets, with units),
        // without the value that Vega prints after the track (the slider reports that).
        holder.querySelectorAll(".vega-bind").forEach(function (bind) {
          var name = bind.querySelector(".vega-bind-name");
          var input = bind.querySelector("input, select");
          if (name && input) input.setAttribute("aria-label", name.textContent.trim());
        });
        return svgWidth(holder);
      });
  }

  // Draw again while the drawing is wider than the column (at most three times: legends and
  // titles do not shrink with the panels), or at full width once the column holds it.
  function fit(el, spec) {
    var state = el.vaeExplorer;
    var column = state.target.clientWidth;
    state.column = column;
    if (!state.panel || !column) return Promise.resolve();
    var drawing = svgWidth(state.holder);
    var want = state.width;
    if (drawing > column + 0.5) {
      want = Math.max(MIN_PANEL, Math.floor(state.width - (drawing - column)));
    } else if (state.width < state.full) {
      // room to spare: widen, up to the specification's own width
      want = Math.min(state.full, Math.floor(state.width + (column - drawing)));
    }
    // stop where narrower panels did not make the drawing narrower (a line of text sets its
    // width: the CSS scales it down the little that is left)
    var stuck = want < state.width && state.last && state.last.width > state.width
      && drawing >= state.last.drawing - 0.5;
    if (want === state.width || stuck || (state.tries || 0) >= 3) return Promise.resolve();
    state.tries = (state.tries || 0) + 1;
    state.last = { width: state.width, drawing: drawing };
    return embed(el, withValues(spec, el.vegaView), want).then(function () {
      return fit(el, spec);
    });
  }

  function draw(el) {
    var tag = el.querySelector("script.vae-explorer-spec");
    var target = el.querySelector(".vae-explorer-view");
    if (!tag || !target || el.dataset.drawn) return;
    el.dataset.drawn = "pending";
    var spec = JSON.parse(tag.textContent);
    var panel = spec.usermeta && spec.usermeta.panel_width;
    el.vaeExplorer = { target: target, panel: panel, full: panel, width: panel };
    embed(el, spec, panel)
      .then(function () { return fit(el, spec); })
      .then(function () {
        el.dataset.drawn = "yes";
        if (!panel || !window.ResizeObserver) return;
        var timer = null;
        new ResizeObserver(function () {
          if (Math.abs(target.clientWidth - el.vaeExplorer.column) < 2) return;
          clearTimeout(timer);
          timer = setTimeout(function () {
            el.vaeExplorer.tries = 0;
            el.vaeExplorer.last = null;
            fit(el, spec);
          }, 150);
        }).observe(target);
      })
      .catch(function (err) {
        el.dataset.drawn = "error";
        target.textContent = "This explorer could not be drawn: " + err;
      });
  }
  function drawAll() {
    if (!window.vegaEmbed) return;
    document.querySelectorAll(".vae-explorer[data-explorer]").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
