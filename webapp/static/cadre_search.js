/*
 * The cadre box of the start pages (input[data-cadre-search]): as a code or a name is typed, the page's scoped JSON
 * endpoint (the input's data-cadre-search, ?q=<text>) is asked for the cadres it finds — by code prefix, or by name
 * with case and Vietnamese marks ignored — and they are listed under the box; choosing one puts its code in the box.
 * The browser's own list (the datalist of the first suggestions) is turned off while the script runs; without the
 * script it stays, and a typed code is accepted as it is. No inline script or style: the CSP forbids them.
 *
 * The "cadre" boxes of task forms (webapp/templates/tasks/_fields.html, often table cells) work the same way, and
 * show the chosen cadre's name under the box (the element <id>-name, filled by the server for a code already
 * there): typing clears it, since the name no longer goes with the code. Choosing a cadre is an input like typing,
 * so whatever follows the box (the live structure of the plan) counts the chosen code.
 */
(function () {
  "use strict";

  var MIN_LENGTH = 2;
  var DELAY_MS = 200;

  function attach(input) {
    var url = input.getAttribute("data-cadre-search");
    var results = document.getElementById(input.id + "-results");
    if (!url || !results || !window.fetch) {
      return;
    }
    input.removeAttribute("list");
    input.setAttribute("aria-controls", results.id);
    var name = document.getElementById(input.id + "-name");
    var timer = null;
    var asked = 0;
    var choosing = false;

    function clear() {
      while (results.firstChild) {
        results.removeChild(results.firstChild);
      }
      results.hidden = true;
    }

    // A search still due (the delay) or on its way when a cadre is picked or the list is closed: dropped, or its
    // answer would list the cadres again over the chosen code.
    function cancel() {
      window.clearTimeout(timer);
      asked++;
      clear();
    }

    function choose(cadre) {
      cancel();
      input.value = cadre.code;
      if (name) {
        name.textContent = cadre.name || "";
        name.classList.remove("cadre-unknown");
      }
      choosing = true;
      try {
        input.dispatchEvent(new Event("input", { bubbles: true }));
      } finally {
        choosing = false;
      }
      input.focus();
    }

    function show(cadres) {
      clear();
      cadres.forEach(function (cadre) {
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "small";
        button.textContent = cadre.label;
        button.addEventListener("click", function () {
          choose(cadre);
        });
        item.appendChild(button);
        results.appendChild(item);
      });
      if (!cadres.length) {
        var none = document.createElement("li");
        none.textContent = results.getAttribute("data-none");
        results.appendChild(none);
      }
      results.hidden = false;
    }

    input.addEventListener("input", function () {
      if (choosing) {
        return;
      }
      if (name) {
        name.textContent = "";
        name.classList.remove("cadre-unknown");
      }
      var text = input.value.trim();
      var mine = ++asked;
      window.clearTimeout(timer);
      if (text.length < MIN_LENGTH) {
        clear();
        return;
      }
      timer = window.setTimeout(function () {
        window.canboGetJson(url + "?q=" + encodeURIComponent(text))
          .then(function (body) {
            if (mine === asked) {
              show(body.cadres || []);
            }
          })
          .catch(function () {
            if (mine === asked) {
              clear(); // the typed code is still sent as it is
            }
          });
      }, DELAY_MS);
    });

    function buttons() {
      return Array.prototype.slice.call(results.querySelectorAll("button"));
    }

    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        cancel();
      } else if (event.key === "ArrowDown" && !results.hidden && buttons().length) {
        event.preventDefault();
        buttons()[0].focus();
      }
    });

    results.addEventListener("keydown", function (event) {
      var list = buttons();
      var at = list.indexOf(document.activeElement);
      if (event.key === "Escape") {
        cancel();
        input.focus();
      } else if (event.key === "ArrowDown" && at >= 0 && at < list.length - 1) {
        event.preventDefault();
        list[at + 1].focus();
      } else if (event.key === "ArrowUp" && at >= 0) {
        event.preventDefault();
        (at === 0 ? input : list[at - 1]).focus();
      }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-cadre-search]"), attach);
})();
