// Interactive charts: Vega 6.4.0, Vega-Lite 6.5.0 and vega-embed 7.3.0, vendored beside this file
// (BSD-3-Clause, licences in *.LICENCE.txt); nothing is loaded from the network. A chart is a
// <div class="interactive-chart"> holding a link to its Vega-Lite spec (a.chart-spec, written by
// `reportgen render`, data inline) and the static figure, which stays for print and as the fallback
// when scripts do not run. The three libraries are loaded when the first chart nears the viewport;
// Material's instant loading swaps pages without a reload, so charts are drawn on every page change.
// Accessibility (axe-core, tests/test_site_a11y.py): a drawn chart is a figure named by a sentence
// saying what it shows (the static figure and its alt text are hidden then), and vega-embed's
// actions menu, an icon-only <summary>, is named "Chart actions".
(function () {
  var base = document.currentScript.src.replace(/[^/]*$/, "");
  var libs = ["vega.min.js", "vega-lite.min.js", "vega-embed.min.js"];
  var ready = null;

  function load(i) {
    return new Promise(function (resolve, reject) {
      if (i >= libs.length) return resolve();
      var s = document.createElement("script");
      s.src = base + libs[i];
      s.onload = function () { load(i + 1).then(resolve, reject); };
      s.onerror = function () { reject(new Error("could not load " + s.src)); };
      document.head.appendChild(s);
    });
  }

  function dark() {
    return document.body.getAttribute("data-md-color-scheme") === "slate";
  }

  // Two panels side by side where there is room, stacked on a phone; each panel as wide as fits;
  // legends below the panels, so the panels keep the width.
  function fit(spec, width) {
    var panels = spec.hconcat || spec.vconcat;
    var narrow = width < 600;
    var out = Object.assign({}, spec);
    if (!panels) {  // one view (a scatter, a heat map): as wide as fits; a heat map square and at most 460 px
      var square = spec.usermeta && spec.usermeta.square;
      out.width = square ? Math.min(460, width - 120) : Math.max(240, width - 200);
      if (square) out.height = out.width;
      out.config = Object.assign({}, spec.config || {});
      if (narrow) out.config.legend = Object.assign({}, out.config.legend || {}, {orient: "bottom", columns: 2});
      return out;
    }
    delete out.hconcat;
    delete out.vconcat;
    out[narrow ? "vconcat" : "hconcat"] = panels;
    var each = narrow ? width - 70 : Math.floor((width - 70 * panels.length) / panels.length);
    panels.forEach(function (p) { p.width = Math.max(180, each); });
    out.config = Object.assign({}, spec.config || {});
    // Below the panels: the variants in a few columns, the three legends stacked on a phone.
    out.config.legend = Object.assign({}, out.config.legend || {}, {
      orient: "bottom", direction: "horizontal", columns: narrow ? 2 : 4,
      layout: {bottom: {anchor: "start", direction: narrow ? "vertical" : "horizontal", margin: 8}},
    });
    return out;
  }

  // The chart's text alternative: its description, the variants it shows (and those selected at
  // first), and where its numbers are.
  function describe(spec) {
    var variants = (spec.usermeta && spec.usermeta.variants) || [];
    var selected = (spec.usermeta && spec.usermeta.selected) || [];
    var runs = spec.data && spec.data.values ? spec.data.values.length : 0;
    return "Interactive chart" + (spec.description ? ": " + spec.description : "") +
      (variants.length ? "; " + variants.length + " variants (" + variants.join(", ") + ")" : "") +
      (runs ? ", " + runs + " runs" : "") +
      (selected.length ? "; selected at first: " + selected.join(", ") + " (the legend picks others)" : "") +
      ". The chart's data (Vega-Lite JSON) is linked below it.";
  }

  // A variant's section draws the study's chart with that variant's runs only: no variant is selected
  // at first there (the study's chart selects its first few).
  function unselect(spec) {
    (spec.hconcat || spec.vconcat || [spec]).forEach(function (panel) {
      (panel.layer || [panel]).forEach(function (layer) {
        (layer.params || []).forEach(function (p) { if (p.name === "variant") delete p.value; });
      });
    });
    return spec;
  }

  function draw(box) {
    var link = box.querySelector("a.chart-spec");
    var target = box.querySelector(".chart-view");
    if (!link || !target) return;
    fetch(link.href).then(function (r) {
      if (!r.ok) throw new Error(link.href + ": HTTP " + r.status);
      return r.json();
    }).then(function (spec) {
      if (box.dataset.variant) {  // a variant's section: the study's chart, its variant only
        spec = Object.assign(unselect(spec), {transform: [{filter: {field: "variant", equal: box.dataset.variant}}]
          .concat(spec.transform || []), usermeta: Object.assign({}, spec.usermeta, {variants: [box.dataset.variant], selected: []}),
          data: {values: spec.data.values.filter(function (r) { return r.variant === box.dataset.variant; })}});
      }
      return vegaEmbed(target, fit(spec, box.clientWidth), {
        renderer: "svg",
        theme: dark() ? "dark" : undefined,
        actions: {export: true, source: false, compiled: false, editor: false},
      }).then(function () {
        target.setAttribute("role", "figure");
        target.setAttribute("aria-label", describe(spec));
      });
    }).then(function () {
      var menu = target.querySelector(".vega-embed details > summary");
      if (menu) menu.setAttribute("aria-label", "Chart actions");
      box.classList.add("chart-drawn");
    }).catch(function (err) {
      box.classList.add("chart-failed");  // the static figure stays in view
      console.warn("interactive chart not drawn:", err);
    });
  }

  // Drawing a chart is the page's costliest work (compiling the spec, laying out hundreds of marks):
  // a chart is drawn when it comes within a screen of the viewport (a chart in a closed tab or fold,
  // or far down the page, costs nothing until the reader gets there). drawAll() draws every chart now
  // (printing, the browser tests).
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (e.isIntersecting) { observer.unobserve(e.target); queue(e.target); }
    });
  }, {rootMargin: "100% 0px"}) : null;

  function queue(box) {
    ready = ready || load(0);
    ready.then(function () { draw(box); }, function (err) {
      console.warn(err);
      ready = null;
    });
  }

  function each(fn) {
    document.querySelectorAll(".interactive-chart").forEach(fn);
  }

  function watchAll() {
    each(function (box) {
      if (observer) { observer.unobserve(box); observer.observe(box); } else { queue(box); }
    });
  }

  function drawAll() {
    each(function (box) {
      if (observer) observer.unobserve(box);
      queue(box);
    });
  }

  window.reportgenCharts = {drawAll: drawAll};
  window.addEventListener("beforeprint", drawAll);
  document$.subscribe(watchAll);
  // Redraw in the other palette when the reader toggles light/dark mode (each chart as it comes into view).
  new MutationObserver(function () { if (ready) watchAll(); })
    .observe(document.body, {attributes: true, attributeFilter: ["data-md-color-scheme"]});
})();
