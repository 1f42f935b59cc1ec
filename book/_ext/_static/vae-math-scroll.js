// VAE, Derived: show which boxes scroll sideways (added by book/_ext/page_style.py).
//
// A display equation (div.math) whose typeset formula is wider than its box, an inline formula
// (span.math, which the theme lets scroll in its own box) wider than its line, and a wide table
// in the theme's scroll container, get the class "vae-scrolls"; vae-book.css then draws a
// shadow on the side with hidden content and a small "scroll" hint. "vae-scroll-start" and
// "vae-scroll-end" say the box is scrolled to that end (no shadow there). A box that scrolls is
// made reachable by keyboard (tabindex 0: the arrow keys scroll it).
//
// Checked after MathJax has typeset (MathJax.startup.promise), when the window is resized and
// whenever a box changes size (a solution dropdown opening shows equations that had no width).
//
// Also: the link in a solution's title ("Solution to Exercise 1.1") goes to the exercise and
// does not also toggle the solution (sphinx-togglebutton listens for clicks on the whole
// title); the toggle button gets an accessible name that says what it opens.
(function () {
  "use strict";
  // display equations, inline formulas, wide tables, API signatures and code blocks
  var SCROLLERS = "div.math, span.math, .pst-scrollable-table-container, dl.py > dt.sig, " +
    ".highlight > pre";

  // How far the content runs past the box. An inline formula's scrollWidth also counts MathJax's
  // hidden MathML for screen readers, which sticks out of short formulas too: measure the
  // typeset formula (mjx-math) instead.
  function overflow(box) {
    if (box.tagName === "SPAN") {
      var math = box.querySelector("mjx-math");
      return math ? math.getBoundingClientRect().width - box.clientWidth : 0;
    }
    return box.scrollWidth - box.clientWidth;
  }

  function update(box) {
    var over = box.clientWidth > 0 ? overflow(box) : 0;
    var wide = over > 1;
    box.classList.toggle("vae-scrolls", wide);
    if (wide) {
      var left = Math.abs(box.scrollLeft);
      box.classList.toggle("vae-scroll-start", left <= 1);
      box.classList.toggle("vae-scroll-end", left >= over - 1);
      var table = box.querySelector("table");
      if (table && !box.dataset.vaeHint) {
        var row = table.querySelector("tr");
        var n = row ? row.children.length : 0;
        box.dataset.vaeHint = (n ? n + " columns: " : "") + "scroll sideways \u2192";
      }
      if (!box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.dataset.vaeTabindex = "1";
      }
    } else {
      box.classList.remove("vae-scroll-start", "vae-scroll-end");
      if (box.dataset.vaeTabindex) {
        box.removeAttribute("tabindex");
        delete box.dataset.vaeTabindex;
      }
    }
  }

  var observer = typeof ResizeObserver === "function"
    ? new ResizeObserver(function (entries) {
        entries.forEach(function (entry) { update(entry.target); });
      })
    : null;

  function watch(box) {
    if (box.dataset.vaeWatched) return;
    box.dataset.vaeWatched = "1";
    box.addEventListener("scroll", function () { update(box); }, { passive: true });
    if (observer) {
      observer.observe(box);
      var inner = box.firstElementChild;
      if (inner) observer.observe(inner);
    }
  }

  function updateAll() {
    document.querySelectorAll(SCROLLERS).forEach(function (box) {
      watch(box);
      // MathJax replaces the TeX with an mjx-container: observe the new content too
      var mjx = box.querySelector(":scope > mjx-container");
      if (observer && mjx && !mjx.dataset.vaeWatched) {
        mjx.dataset.vaeWatched = "1";
        observer.observe(mjx);
      }
      update(box);
    });
  }

  function afterMathJax() {
    var tries = 0;
    (function wait() {
      var mj = window.MathJax;
      if (mj && mj.startup && mj.startup.promise) {
        mj.startup.promise.then(updateAll, updateAll);
      } else if (++tries < 100 && document.querySelector("div.math")) {
        setTimeout(wait, 100);
      }
    })();
  }

  function solutions() {
    document.querySelectorAll(".solution.dropdown > .admonition-title").forEach(function (title) {
      if (title.dataset.vaeSolution) return;
      var button = title.querySelector("button.toggle-button");
      if (!button) return;  // sphinx-togglebutton has not added its button yet
      title.dataset.vaeSolution = "1";
      title.querySelectorAll("a.reference").forEach(function (link) {
        link.addEventListener("click", function (event) { event.stopPropagation(); });
      });
      var name = title.textContent.replace(/\s+/g, " ").trim();
      button.setAttribute("aria-label", name || "Solution");
      var box = button.closest(".solution");
      if (box && box.id) button.setAttribute("aria-controls", box.id);
    });
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(updateAll, 100);
  });

  function start() {
    updateAll();
    afterMathJax();
    solutions();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  window.addEventListener("load", function () {
    updateAll();
    solutions();
  });
})();
