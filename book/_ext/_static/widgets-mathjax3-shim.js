// The ipywidgets html-manager typesets widget labels with MathJax 2's API,
// MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book runs MathJax 3, which has no
// Hub, so every labelled widget threw "Cannot read properties of undefined (reading 'Queue')".
// This gives MathJax 3 a Hub whose Queue typesets the element with typesetPromise. MathJax 3
// replaces window.MathJax when its deferred script runs, so the Hub is (re)attached at
// DOMContentLoaded and at load; this script is included before the html-manager, whose widgets
// render at load, so its listener runs first.
(function () {
  "use strict";
  function typeset(job) {
    var mj = window.MathJax;
    if (!mj || typeof mj.typesetPromise !== "function") return;
    var element = Array.isArray(job) ? job[2] : null;
    var ready = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
    ready.then(function () { return mj.typesetPromise(element ? [element] : undefined); })
      .catch(function (err) { console.warn("MathJax could not typeset a widget label", err); });
  }
  function attach() {
    if (window.MathJax && !window.MathJax.Hub) window.MathJax.Hub = { Queue: typeset };
  }
  attach();
  document.addEventListener("DOMContentLoaded", attach);
  window.addEventListener("load", attach);
})();
