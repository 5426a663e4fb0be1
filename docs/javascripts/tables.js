// Sortable tables (tablesort 5.7.1, vendored beside this file; no CDN). Material's instant loading
// swaps pages without a reload, so tables are wired on every page change (document$), as the
// Material for MkDocs docs show for "Data tables: sortable tables".
//
// - The first click on a column sorts it descending (best accuracy, largest model first); a rank
//   column ("#", "rank") sorts ascending first, so rank 1 stays on top.
// - A cell that starts with a number sorts by that number alone: "98.95 ± 0.10" by 98.95,
//   "3.1 (2.9–3.3)" by 3.1, "1,234" by 1234; "—" (no value) sorts below every number.
// - A long table shows its first FOLD_AT rows and a button for the rest; sorting sorts every row and
//   shows the first FOLD_AT of the new order. Without JavaScript the whole table shows.
// - A table wider than its box keeps its identifying column (the first; the rank and the label after
//   it where the first is a rank) in view while the rest scrolls, and shows a shadow at each edge
//   that has more to scroll to.
// - On a narrow screen (NARROW) a wide table (WIDE columns or more) shows its key columns only — the
//   label, the study, the verdict and the study's measure (the first test-accuracy column) — and a
//   button for the others (the rank among them).
(function () {
  var NARROW = "(max-width: 600px)", WIDE = 6;
  var KEY = /^(variant|study|comparison|verdict|model|seed|(Δ )?test acc(uracy|\.)?( \(|$))/i;
  var LONG = 20, FOLD_AT = 12;
  var NUMBER = /^[^\d\-+−.]*([-+−]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?)/i;
  // What may follow the number in a number cell: a unit, an interval, a range, other seeds' values.
  var AFTER = /^\s*(?:$|[%±(\[\/–×†*]|pp\b|[kMG]\b|s\b)/;

  function leading(text) {
    var t = text.trim();
    if (t === "" || t === "—" || t === "-") return null;
    var m = NUMBER.exec(t);
    if (!m || m[0].length - m[1].length > 2) return null;  // a label with digits in it, not a number
    if (!AFTER.test(t.slice(m[0].length))) return null;  // a sentence that starts with a number
    return parseFloat(m[1].replace(/,/g, "").replace("−", "-"));
  }

  function prepare(table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) return;
    var body = table.tBodies[0], rows = [].slice.call(body.rows);
    [].forEach.call(head.cells, function (th, col) {
      var name = th.textContent.trim().toLowerCase();
      if (name === "#" || name === "rank" || name === "order") th.setAttribute("data-sort-reverse", "");
      var values = rows.map(function (r) { return r.cells[col] ? leading(r.cells[col].textContent) : null; });
      var numeric = values.filter(function (v) { return v !== null; }).length;
      if (!numeric || numeric < rows.length / 2) return;  // a text column: tablesort's own comparison
      th.setAttribute("data-sort-method", "leading");
      th.classList.add("num");
      rows.forEach(function (r, i) {
        if (!r.cells[col]) return;
        r.cells[col].setAttribute("data-sort", values[i] === null ? "-1e300" : String(values[i]));
        r.cells[col].classList.add("num");
        if (r.cells[col].textContent.trim().length <= 20) r.cells[col].classList.add("nowrap");  // long ones may wrap
      });
    });
  }

  function fold(table, button, open) {
    [].forEach.call(table.tBodies[0].rows, function (r, i) {
      r.classList.toggle("row-folded", !open && i >= FOLD_AT);
    });
    var n = table.tBodies[0].rows.length;
    button.textContent = open ? "Show the first " + FOLD_AT + " rows only" : "Show all " + n + " rows";
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function foldable(table) {
    if (!table.tBodies[0] || table.tBodies[0].rows.length <= LONG) return;
    var wrap = table.closest(".md-typeset__scrollwrap") || table;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "rows-toggle";
    var open = false;
    button.addEventListener("click", function () { open = !open; fold(table, button, open); });
    table.addEventListener("afterSort", function () { fold(table, button, open); });
    wrap.insertAdjacentElement("afterend", button);
    fold(table, button, false);
  }

  function header(table) {
    return table.tHead && table.tHead.rows[0] ? [].slice.call(table.tHead.rows[0].cells) : [];
  }

  // The identifying columns stay in view: sticky at the left, each after the ones before it.
  function stick(table) {
    var heads = header(table);
    if (!heads.length) return;
    if (!table.dataset.stuck) {  // widths change when columns are shown or hidden, or the window resizes
      table.dataset.stuck = "1";
      table.addEventListener("columns", function () { stick(table); });
      window.addEventListener("resize", function () { stick(table); });
    }
    var n = /^(#|rank)$/i.test(heads[0].textContent.trim()) && heads.length > 2 ? 2 : 1;
    var left = 0;
    for (var c = 0; c < n; c++) {
      var x = left;
      [].forEach.call(table.rows, function (r) {
        if (!r.cells[c]) return;
        r.cells[c].classList.add("sticky-col");
        r.cells[c].style.left = x + "px";
        if (c === n - 1) r.cells[c].classList.add("sticky-last");
      });
      left += heads[c].getBoundingClientRect().width;
    }
  }

  // A shadow at each edge with more to scroll to (the frame holds it: the scrolling box moves).
  function cue(frame, box) {
    var more = box.scrollWidth - box.clientWidth;
    frame.classList.toggle("more-right", more > 1 && box.scrollLeft < more - 1);
    frame.classList.toggle("more-left", more > 1 && box.scrollLeft > 1);
  }

  function framed(table) {
    var box = table.closest(".md-typeset__scrollwrap");
    if (!box) return;
    var frame = document.createElement("div");
    frame.className = "table-frame";
    box.parentNode.insertBefore(frame, box);
    frame.appendChild(box);
    var update = function () { cue(frame, box); };
    box.addEventListener("scroll", update, {passive: true});
    window.addEventListener("resize", update);
    table.addEventListener("afterSort", update);
    table.addEventListener("columns", update);
    update();
  }

  // On a narrow screen: the key columns only, the others one tap away.
  function narrow(table) {
    var heads = header(table);
    if (heads.length < WIDE) return;
    var extra = heads.map(function (th, c) {
      var text = th.textContent.trim();
      return (c > 0 || /^(#|rank)$/i.test(text)) && !KEY.test(text);  // the label stays; a rank may go
    });
    var measure = heads.findIndex(function (th) { return /test acc/i.test(th.textContent); });
    heads.forEach(function (th, c) { if (c !== measure && /test acc/i.test(th.textContent) && c > measure) extra[c] = true; });
    if (!extra.some(Boolean)) return;
    [].forEach.call(table.rows, function (r) {
      [].forEach.call(r.cells, function (cell, c) { if (extra[c]) cell.classList.add("col-extra"); });
    });
    var hidden = extra.filter(Boolean).length;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "cols-toggle";
    var show = function (all) {
      table.toggleAttribute("data-all-columns", all);
      button.textContent = all ? "Show the key columns only" : "Show all " + heads.length + " columns (" + hidden + " more)";
      button.setAttribute("aria-expanded", all ? "true" : "false");
      table.dispatchEvent(new Event("columns"));
    };
    button.addEventListener("click", function () { show(!table.hasAttribute("data-all-columns")); });
    var frame = table.closest(".table-frame") || table;
    frame.insertAdjacentElement("beforebegin", button);
    table.setAttribute("data-narrowable", "");
    show(false);
  }

  // Sorts the data-sort numbers written above ("-1e300": no value, last when descending); never
  // chosen by itself (its pattern matches nothing), only through data-sort-method.
  Tablesort.extend("leading", function () { return false; }, function (a, b) {
    return parseFloat(b) - parseFloat(a);
  });

  document$.subscribe(function () {
    document.querySelectorAll("article table:not([class])").forEach(function (table) {
      if (table.dataset.wired) return;
      table.dataset.wired = "1";
      prepare(table);
      new Tablesort(table, {descending: true});
      foldable(table);
      narrow(table);
      framed(table);
      stick(table);
    });
  });
})();
