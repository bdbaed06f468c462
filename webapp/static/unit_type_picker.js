/*
 * The type select of the add-unit page follows the "unit above" select: it offers the types the chosen unit may hold
 * (the org tree's policy, workflows/rules/units.py, the same table the server checks). The type select's
 * data-type-rules holds what is needed: {"parents": {unit id: its type}, "allowed": {type: [types it may hold]},
 * "labels": [[type, name], ...]} in list order. No unit chosen: every type. A type still allowed stays chosen.
 * Without this script the page offers the types of the unit it was opened or posted with, and the server refuses a
 * pair the tree does not allow. No inline script or style: the CSP forbids them.
 */
(function () {
  "use strict";

  function attach(typeSelect) {
    var parentSelect = document.getElementById(typeSelect.getAttribute("data-parent-select"));
    var none = document.getElementById(typeSelect.id + "-none");
    var rules;
    try {
      rules = JSON.parse(typeSelect.getAttribute("data-type-rules"));
    } catch (error) {
      return; // the page without the script still works
    }
    if (!parentSelect || !rules || !rules.parents || !rules.allowed || !rules.labels) {
      return;
    }

    function follow() {
      var kind = rules.parents[parentSelect.value];
      var allowed = kind === undefined ? null : rules.allowed[kind] || [];
      var chosen = typeSelect.value;
      while (typeSelect.firstChild) {
        typeSelect.removeChild(typeSelect.firstChild);
      }
      rules.labels.forEach(function (pair) {
        if (allowed === null || allowed.indexOf(pair[0]) !== -1) {
          var option = document.createElement("option");
          option.value = pair[0];
          option.textContent = pair[1];
          option.selected = pair[0] === chosen;
          typeSelect.appendChild(option);
        }
      });
      if (none) {
        none.hidden = !(allowed !== null && allowed.length === 0);
      }
    }

    parentSelect.addEventListener("change", follow);
    follow(); // a unit above restored by the browser (back, reload) may differ from the one the page was made for
  }

  Array.prototype.forEach.call(document.querySelectorAll("select[data-type-rules]"), attach);
})();
