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
(function () {
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
    });
  });
})();
