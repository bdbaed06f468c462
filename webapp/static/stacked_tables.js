/*
 * On a phone a list table (table.tasks) stacks each row's cells and hides its header row (app.css), so a date, a
 * count or a "—" no longer says what it is. Each cell without a data-label of its own is given its column's header
 * text, which the stylesheet shows before the value on narrow screens only. A column whose header has no text (a
 * checkbox) is left alone; a cell can opt out with data-label="". Without this script the rows read as before.
 */
(function () {
  "use strict";

  function headerTexts(table) {
    var row = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    var texts = [];
    if (!row) {
      return texts;
    }
    Array.prototype.forEach.call(row.cells, function (cell) {
      var text = cell.textContent.replace(/\s+/g, " ").trim();
      for (var span = 0; span < (cell.colSpan || 1); span += 1) {
        texts.push(text);
      }
    });
    return texts;
  }

  function label(table) {
    var texts = headerTexts(table);
    if (!texts.length) {
      return;
    }
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          var text = texts[column];
          if (cell.tagName === "TD" && text && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", text);
          }
          column += cell.colSpan || 1;
        });
      });
    });
  }

  document.querySelectorAll("table.tasks").forEach(label);
})();
