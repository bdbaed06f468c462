/*
 * Live structure of the plan beside the nominations form of the planning review (forms with
 * "x-live-structure": true): % women, % young, % ethnic minority and % S&T of the kept entries of the unit's plan
 * (the panel's data-plan) plus the cadres named in the rows, against the policy's targets (data-targets). A person
 * counts once; one whose fact is not recorded is "unknown" and the verdict stands only if it holds however the
 * unknowns fall — as workflows/rules/planning.py structure_figures counts (QĐ 377 [V] S7, S8).
 *
 * Each typed code's facts come from the server (data-facts-url, computed there by the same rules under the review's
 * policy); a code it does not know is not counted. Only informative: the server counts again on submit and its
 * figures are the ones recorded. No inline script (the CSP forbids it).
 */
(function () {
  "use strict";

  var panel = document.querySelector("[data-live-structure]");
  var form = document.querySelector("form.taskform");
  if (!panel || !form) {
    return;
  }

  function readJson(name, fallback) {
    try {
      return JSON.parse(panel.getAttribute(name) || "") || fallback;
    } catch (e) {
      return fallback;
    }
  }

  var KEYS = ["women", "young", "ethnic_minority", "science_technology"];
  var CODE_CELL = /^nominations-(\d+)-cadre_code$/;
  var plan = readJson("data-plan", {});
  var targets = readJson("data-targets", {});
  var verdicts = readJson("data-verdicts", {});
  var url = panel.getAttribute("data-facts-url");
  // The reader's decimal mark: the recount is written as the server wrote the figure ("50,0%" / "50.0%").
  var decimalMark = panel.getAttribute("data-decimal-mark") || ",";
  var known = {}; // code → facts, or null when the server does not count it
  var timer = null;

  function rowCodes() {
    var codes = [];
    Array.prototype.forEach.call(form.elements, function (input) {
      if (CODE_CELL.test(input.name || "")) {
        var code = (input.value || "").trim();
        if (code && codes.indexOf(code) === -1) {
          codes.push(code);
        }
      }
    });
    return codes;
  }

  function meets(target, numerator, denominator) {
    // In hundredths of a person, so 1 of 10 meets "≥ 10%" despite binary floating point.
    var share = 100 * numerator;
    var low = target.low === null ? null : target.low * denominator;
    var high = target.high === null ? null : target.high * denominator;
    var eps = 1e-9 * Math.max(1, denominator);
    if (target.kind === "at_least") { return share >= low - eps; }
    if (target.kind === "at_most") { return share <= high + eps; }
    if (target.kind === "between") { return share >= low - eps && share <= high + eps; }
    return Math.abs(share - low) <= eps;
  }

  function verdict(target, numerator, denominator, unknown) {
    if (!target) { return "none"; }
    if (denominator === 0) { return "open"; }
    var outcomes = {};
    for (var j = 0; j <= unknown; j += 1) {
      outcomes[meets(target, numerator + j, denominator + unknown)] = true;
    }
    var seen = Object.keys(outcomes);
    if (seen.length !== 1) { return "open"; }
    return seen[0] === "true" ? "yes" : "no";
  }

  function percent(numerator, denominator) {
    if (!denominator) { return "—"; }
    return (100 * numerator / denominator).toFixed(1).replace(".", decimalMark) + "%";
  }

  function output(name, text) {
    var element = panel.querySelector('[data-out="' + name + '"]');
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function show() {
    var people = [];
    var counted = {};
    Object.keys(plan).forEach(function (code) {
      counted[code] = true;
      people.push(plan[code]);
    });
    rowCodes().forEach(function (code) {
      if (!counted[code] && known[code]) {
        counted[code] = true;
        people.push(known[code]);
      }
    });
    KEYS.forEach(function (key) {
      var numerator = 0;
      var denominator = 0;
      var unknown = 0;
      people.forEach(function (facts) {
        var fact = facts[key];
        if (fact === null || fact === undefined) {
          unknown += 1;
        } else {
          denominator += 1;
          numerator += fact ? 1 : 0;
        }
      });
      output(key + "-percent", percent(numerator, denominator));
      output(key + "-count", numerator + "/" + denominator);
      var judged = verdict(targets[key], numerator, denominator, unknown);
      output(key + "-verdict", verdicts[judged] || "");
      var verdictElement = panel.querySelector('[data-out="' + key + '-verdict"]');
      if (verdictElement) {
        verdictElement.setAttribute("data-verdict", judged);
      }
    });
  }

  function refresh() {
    var missing = rowCodes().filter(function (code) { return !(code in known) && !(code in plan); });
    if (!missing.length || !url) {
      show();
      return;
    }
    fetch(url + "?codes=" + encodeURIComponent(missing.join(",")), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : { facts: {} }; })
      .then(function (body) {
        var facts = (body && body.facts) || {};
        missing.forEach(function (code) {
          known[code] = facts[code] || null;
        });
        show();
      })
      .catch(function () { /* offline: the figures drawn by the server stay */ });
  }

  form.addEventListener("input", function (event) {
    if (event.target && CODE_CELL.test(event.target.name || "")) {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 250);
    }
  });
})();
