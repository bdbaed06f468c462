/*
 * The tools of a long checklist of a task form (fieldset[data-checklist-filter], webapp/templates/tasks/_fields.html;
 * decision 0081): a filter box that narrows the list as one types — every word typed must be in a box's label, case
 * and Vietnamese marks ignored ("nguyen van" finds "Nguyễn Văn") —, "show only ticked", and the count of ticked
 * boxes. All of it in the page: the list is already there, nothing is asked of the server. A box the filter hides
 * keeps its tick and is posted with the form all the same. The tools are hidden in the page and shown here: without
 * this script the whole list works as plain checkboxes. They have no name, so they post nothing (and the draft
 * saved by static/task_draft.js does not change as one filters). Enter in the filter box does not send the form;
 * Escape empties it. No inline script: the CSP forbids it.
 */
(function () {
  "use strict";

  var DELAY_MS = 120;

  // "Nguyễn Văn Đức" -> "nguyen van duc": what the filter compares, marks and case aside.
  function plain(text) {
    return text
      .toLowerCase()
      .replace(/đ/g, "d")
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "");
  }

  function fill(format, values) {
    return format.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : all;
    });
  }

  function attach(fieldset) {
    var tools = fieldset.querySelector(".checklist-tools");
    var box = fieldset.querySelector("[data-checklist-filter-box]");
    var onlyTicked = fieldset.querySelector("[data-checklist-only-ticked]");
    var count = fieldset.querySelector(".checklist-count");
    var none = fieldset.querySelector(".checklist-none");
    var list = fieldset.querySelector("ul.choices");
    if (!tools || !box || !onlyTicked || !count || !list || !"".normalize) {
      return;
    }
    var items = Array.prototype.map.call(list.children, function (item) {
      var input = item.querySelector("input[type=checkbox]");
      return { item: item, input: input, text: plain(item.textContent || "") };
    });
    var timer = null;

    function tell(ticked, shown) {
      var text = fill(count.getAttribute("data-ticked-format"), { ticked: ticked, total: items.length });
      if (shown !== items.length) {
        text += " · " + fill(count.getAttribute("data-shown-format"), { shown: shown });
      }
      if (count.textContent !== text) {
        count.textContent = text;
      }
      if (none) {
        none.hidden = shown > 0;
      }
    }

    function show() {
      var words = plain(box.value).split(/\s+/).filter(Boolean);
      var shown = 0;
      var ticked = 0;
      items.forEach(function (entry) {
        var checked = entry.input && entry.input.checked;
        if (checked) {
          ticked++;
        }
        var visible =
          (!onlyTicked.checked || checked) &&
          words.every(function (word) {
            return entry.text.indexOf(word) !== -1;
          });
        if (entry.item.hidden === visible) {
          entry.item.hidden = !visible; // only what changes: thousands of boxes are touched on each key
        }
        if (visible) {
          shown++;
        }
      });
      tell(ticked, shown);
    }

    box.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(show, DELAY_MS);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault(); // filtering, not sending the form
        window.clearTimeout(timer);
        show();
      } else if (event.key === "Escape" && box.value) {
        event.preventDefault();
        box.value = "";
        window.clearTimeout(timer);
        show();
      }
    });
    onlyTicked.addEventListener("change", show);
    // A box ticked or cleared: the count follows; with "show only ticked", a box just cleared stays in view until
    // the list is narrowed again, so it does not vanish under the pointer or the keyboard focus.
    list.addEventListener("change", function () {
      var ticked = items.filter(function (entry) {
        return entry.input && entry.input.checked;
      }).length;
      var shown = items.filter(function (entry) {
        return !entry.item.hidden;
      }).length;
      tell(ticked, shown);
    });
    tools.hidden = false;
    show();
  }

  Array.prototype.forEach.call(document.querySelectorAll("fieldset[data-checklist-filter]"), attach);
})();
