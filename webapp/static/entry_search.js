/*
 * A searched entry of the plan (decision 0083; webapp/templates/tasks/_fields.html `_entry_search`): a row added to
 * the removals of a plan too long for one select has a search box above its select. Without this script, the
 * page's "Find" button sends the form back with the select listing what the box finds. With it, the box asks the
 * task's endpoint (its data-entry-search, ?q=<text>) as one types — every word in the cadre's name or code, the
 * title or the unit, case and Vietnamese marks ignored — and the select is filled with what it finds: the entry
 * chosen stays, the select still posts the id, and the server checks it as before. The box then has no name (it
 * posts nothing, and the draft does not count it as a change) and "Find" is removed; Enter in the box searches at
 * once instead of sending the form. The status line under the select says how many were found. No inline script or
 * style: the CSP forbids them.
 */
(function () {
  "use strict";

  var MIN_LENGTH = 2;
  var DELAY_MS = 200;

  function attach(box) {
    var url = box.getAttribute("data-entry-search");
    var select = document.getElementById(box.getAttribute("data-entry-select"));
    var status = document.getElementById(box.getAttribute("data-entry-select") + "-found");
    if (!url || !select || !window.fetch) {
      return;
    }
    box.removeAttribute("name");
    // "Find" is gone, not only hidden: a form's first submit button is what Enter in any of its boxes presses.
    var find = box.parentNode.querySelector("[data-entry-find]");
    if (find) {
      find.parentNode.removeChild(find);
    }
    var timer = null;
    var asked = 0;

    function say(text) {
      if (status) {
        status.textContent = text || "";
      }
    }

    function fill(entries) {
      var chosen = select.value;
      var keep = [];
      Array.prototype.forEach.call(select.options, function (option, index) {
        if (index === 0 || (chosen && option.value === chosen)) {
          keep.push(option); // "Choose", and the entry chosen
        }
      });
      while (select.firstChild) {
        select.removeChild(select.firstChild);
      }
      keep.forEach(function (option) {
        select.appendChild(option);
      });
      entries.forEach(function (entry) {
        if (String(entry.id) === chosen) {
          return;
        }
        var option = document.createElement("option");
        option.value = String(entry.id);
        option.textContent = entry.label;
        select.appendChild(option);
      });
      select.value = chosen;
    }

    function answer(body) {
      var entries = body.entries || [];
      fill(entries);
      if (!status) {
        return;
      }
      if (!entries.length) {
        say(status.getAttribute("data-none"));
      } else {
        var format = body.more ? "data-more-format" : "data-found-format";
        say((status.getAttribute(format) || "").replace("{count}", String(entries.length)));
      }
    }

    function search(now) {
      var text = box.value.trim();
      var mine = ++asked;
      window.clearTimeout(timer);
      if (text.length < MIN_LENGTH) {
        say("");
        return;
      }
      timer = window.setTimeout(
        function () {
          window.canboGetJson(url + "?q=" + encodeURIComponent(text))
            .then(function (body) {
              if (mine === asked) {
                answer(body);
              }
            })
            .catch(function () {
              if (mine === asked) {
                say(""); // the select keeps what it holds
              }
            });
        },
        now ? 0 : DELAY_MS
      );
    }

    box.addEventListener("input", function () {
      search(false);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault(); // searches; the form is sent with its own buttons
        search(true);
      } else if (event.key === "Escape" && box.value) {
        event.preventDefault();
        box.value = "";
        search(true);
      }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-entry-search]"), attach);
})();
