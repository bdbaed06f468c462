/*
 * "Select all" of the inbox's group tab: a checkbox with data-select-all="<name>" checks or clears every checkbox of
 * that name in its form, and follows them (checked when all are, mixed when some are). The control is hidden in the
 * page and shown here: without this script each row's own checkbox still works. No inline script: the CSP forbids it.
 */
(function () {
  "use strict";

  function attach(all) {
    var form = all.form;
    var name = all.getAttribute("data-select-all");
    if (!form || !name) {
      return;
    }
    function boxes() {
      return Array.prototype.filter.call(form.elements, function (element) {
        return element.type === "checkbox" && element.name === name;
      });
    }
    function follow() {
      var list = boxes();
      var checked = list.filter(function (box) { return box.checked; }).length;
      all.checked = list.length > 0 && checked === list.length;
      all.indeterminate = checked > 0 && checked < list.length;
    }
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
      all.indeterminate = false;
    });
    form.addEventListener("change", function (event) {
      if (event.target !== all && event.target.name === name) {
        follow();
      }
    });
    var label = all.closest("[hidden]");
    if (label) {
      label.hidden = false;
    }
    follow();
  }

  document.querySelectorAll("input[data-select-all]").forEach(attach);
})();
