// Sortable tables (tablesort 5.7.1, vendored beside this file; no CDN). Material's instant loading
// swaps pages without a reload, so tables are wired on every page change (document$), as the
// Material for MkDocs docs show for "Data tables: sortable tables".
document$.subscribe(function () {
  document.querySelectorAll("article table:not([class])").forEach(function (table) {
    new Tablesort(table);
  });
});
