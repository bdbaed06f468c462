/*
 * Live score of the monthly evaluation forms (forms with "x-live-score": true), shown beside the form as the
 * person types. The formula is the one of workflows/rules/evaluation.py (NĐ 335/2025 Điều 12–16), under the policy
 * the instance was opened with (the panel's data-policy):
 *
 *   per product: quality points  = completed meeting quality × max(0, 1 − deduction_per_error × major errors)
 *                progress points = completed on time         × max(0, 1 − deduction_per_delay × delays)
 *   quantity % = Σ completed / Σ assigned, quality % = Σ quality points / Σ assigned,
 *   progress % = Σ progress points / Σ assigned
 *   combined   = their average, or Σ weight × share / Σ weight when combine is "weighted"
 *   task points = 70 × combined; total = criteria (a) + (b) + (c) + task points, half-up to 2 decimals
 *
 * It only informs: the server computes the score again on submit and its number is the one recorded (a leader's
 * unit-results criterion, for one, is only known to the server). No network, no inline script (the CSP forbids it).
 */
(function () {
  "use strict";

  var panel = document.querySelector("[data-live-score]");
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

  var DEFAULTS = {
    criteria_max: [10, 10, 10],
    combine: "average",
    weights: [1 / 3, 1 / 3, 1 / 3],
    deduction_per_error: 0.25,
    deduction_per_delay: 0.25
  };
  var policy = readJson("data-policy", {});
  Object.keys(DEFAULTS).forEach(function (key) {
    if (policy[key] === undefined || policy[key] === null) {
      policy[key] = DEFAULTS[key];
    }
  });
  var messages = readJson("data-messages", {});
  var decimal = panel.getAttribute("data-decimal") || ",";

  var CRITERIA = ["criteria_politics", "criteria_competence", "criteria_innovation"];
  var AMOUNTS = ["assigned", "completed", "completed_quality", "completed_on_time"];
  var COUNTS = ["major_errors", "delays"];
  var CELL = /^products-(\d+)-([a-z_]+)$/;
  // The numbers the server's form accepts, read the same way (webapp/number_fields.py `read_integer`,
  // `read_number`): thousands grouped by "." or a space (1.000.000, 1 000 000), a decimal comma or point (2,5 2.5);
  // one group alone ("1.000") is a thousand in a whole-number field and asked about in a decimal one; no exponent
  // ("1e3"), no hexadecimal, no "_" between digits.
  var SPACE = "[ \u00a0\u202f]";
  var SPACES = new RegExp(SPACE, "g");
  var DOT_GROUPS = "[1-9][0-9]{0,2}(?:\\.[0-9]{3})+";
  var SPACE_GROUPS = "[1-9][0-9]{0,2}(?:" + SPACE + "[0-9]{3})+";
  var NUMBER = /^[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)$/;
  var INTEGER = new RegExp("^[+-]?(?:[0-9]+|" + DOT_GROUPS + "|" + SPACE_GROUPS + ")$");
  var GROUPED = new RegExp(
    "^[+-]?(?:[1-9][0-9]{0,2}(?:\\.[0-9]{3}){2,}(?:,[0-9]+)?" +
      "|" + DOT_GROUPS + ",[0-9]+" +
      "|" + SPACE_GROUPS + "(?:[.,][0-9]+)?)$"
  );
  var ONE_DOT_GROUP = /^[+-]?[1-9][0-9]{0,2}\.[0-9]{3}$/;

  // -- reading -----------------------------------------------------------------------------------------------------

  function read(input, whole) {
    var text = (input.value || "").trim();
    if (text === "") {
      return { blank: true };
    }
    var plain;
    if (whole) {
      if (!INTEGER.test(text)) {
        return { bad: "whole" };
      }
      plain = text.replace(SPACES, "").replace(/\./g, "");
    } else if (ONE_DOT_GROUP.test(text)) {
      return { bad: "ambiguous" };
    } else if (GROUPED.test(text)) {
      plain = text.replace(SPACES, "");
      if (plain.indexOf(",") !== -1 || plain.split(".").length > 2) {
        plain = plain.replace(/\./g, "");
      }
    } else if (NUMBER.test(text)) {
      plain = text;
    } else {
      return { bad: "number" };
    }
    var value = Number(plain.replace(",", "."));
    if (!isFinite(value)) {
      return { bad: "number" };
    }
    return { value: value };
  }

  function productRows() {
    var rows = {};
    Array.prototype.forEach.call(form.elements, function (input) {
      var match = CELL.exec(input.name || "");
      if (!match) {
        return;
      }
      var index = match[1];
      rows[index] = rows[index] || { index: Number(index), inputs: {} };
      rows[index].inputs[match[2]] = input;
    });
    return Object.keys(rows)
      .map(function (key) { return rows[key]; })
      .sort(function (a, b) { return a.index - b.index; });
  }

  function isBlankRow(row) {
    return Object.keys(row.inputs).every(function (name) {
      return !(row.inputs[name].value || "").trim();
    });
  }

  // -- messages at the fields --------------------------------------------------------------------------------------

  function container(input) {
    return input.closest(".row-line-cell") || input.closest("td") || input.closest(".field") || input.parentNode;
  }

  function setProblem(input, key) {
    var id = (input.id || input.name) + "-live-error";
    var existing = document.getElementById(id);
    var describedBy = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (part) {
      return part && part !== id;
    });
    if (!key) {
      if (existing) {
        existing.parentNode.removeChild(existing);
      }
      if (!container(input).querySelector(".field-error")) {
        input.removeAttribute("aria-invalid");
      }
      if (describedBy.length) {
        input.setAttribute("aria-describedby", describedBy.join(" "));
      } else {
        input.removeAttribute("aria-describedby");
      }
      return;
    }
    var text = messages[key] || key;
    if (container(input).querySelector(".field-error:not(.live-error)")) {
      // The server has spoken about this very value (its message goes as soon as the value is edited): one message
      // per field, even where the two word the same problem differently ("Cần nhập một số" / "Phải là một số.").
      return;
    }
    if (!existing) {
      existing = document.createElement("div");
      existing.id = id;
      existing.className = "field-error live-error";
      existing.setAttribute("role", "alert");
      input.insertAdjacentElement("afterend", existing);
    }
    if (existing.textContent !== text) {
      existing.textContent = text;
    }
    input.setAttribute("aria-invalid", "true");
    describedBy.push(id);
    input.setAttribute("aria-describedby", describedBy.join(" "));
  }

  // -- the formula -------------------------------------------------------------------------------------------------

  function round2(value) {
    // Half up, as the server rounds; toPrecision(12) first drops the binary noise of 0.1 + 0.2 and the like.
    return Math.round(Number((value * 100).toPrecision(12))) / 100;
  }

  function products() {
    var ok = true;
    var complete = true;
    var sums = { assigned: 0, completed: 0, quality: 0, progress: 0 };
    var counted = 0;
    productRows().forEach(function (row) {
      var blank = isBlankRow(row);
      var values = {};
      AMOUNTS.concat(COUNTS).forEach(function (name) {
        var input = row.inputs[name];
        if (!input) {
          return;
        }
        var whole = COUNTS.indexOf(name) !== -1;
        var got = read(input, whole);
        var problem = null;
        if (got.bad) {
          problem = got.bad;
        } else if (!got.blank && got.value < 0) {
          problem = "negative";
        }
        values[name] = got;
        if (!blank) {
          setProblem(input, problem);
        } else {
          setProblem(input, null);
        }
        if (problem) {
          ok = false;
        }
      });
      if (blank) {
        return;
      }
      var value = function (name) {
        var got = values[name];
        return got && !got.blank && !got.bad ? got.value : null;
      };
      var assigned = value("assigned");
      var completed = value("completed");
      var quality = value("completed_quality");
      var onTime = value("completed_on_time");
      if (row.inputs.assigned && assigned === 0) {
        setProblem(row.inputs.assigned, "assigned_zero");
        ok = false;
      }
      if (row.inputs.completed && assigned !== null && completed !== null && completed > assigned) {
        setProblem(row.inputs.completed, "over_assigned");
        ok = false;
      }
      [["completed_quality", quality], ["completed_on_time", onTime]].forEach(function (pair) {
        if (row.inputs[pair[0]] && completed !== null && pair[1] !== null && pair[1] > completed) {
          setProblem(row.inputs[pair[0]], "over_completed");
          ok = false;
        }
      });
      if (assigned === null || completed === null || quality === null || onTime === null) {
        complete = false;
        return;
      }
      var errors = value("major_errors") || 0;
      var delays = value("delays") || 0;
      sums.assigned += assigned;
      sums.completed += completed;
      sums.quality += quality * Math.max(0, 1 - policy.deduction_per_error * errors);
      sums.progress += onTime * Math.max(0, 1 - policy.deduction_per_delay * delays);
      counted += 1;
    });
    if (!ok || !complete || !counted || sums.assigned <= 0) {
      return null;
    }
    var shares = [sums.completed / sums.assigned, sums.quality / sums.assigned, sums.progress / sums.assigned];
    var combined;
    if (policy.combine === "weighted") {
      var weights = policy.weights;
      var total = weights[0] + weights[1] + weights[2];
      combined = (weights[0] * shares[0] + weights[1] * shares[1] + weights[2] * shares[2]) / total;
    } else {
      combined = (shares[0] + shares[1] + shares[2]) / 3;
    }
    return {
      quantity_pct: 100 * shares[0],
      quality_pct: 100 * shares[1],
      progress_pct: 100 * shares[2],
      task_points: 70 * combined
    };
  }

  function criteria() {
    var sum = 0;
    var complete = true;
    CRITERIA.forEach(function (name, index) {
      var input = form.elements.namedItem(name);
      if (!input || !input.name) {
        complete = false;
        return;
      }
      var got = read(input, false);
      var problem = null;
      if (got.bad) {
        problem = got.bad;
      } else if (!got.blank && (got.value < 0 || got.value > Number(policy.criteria_max[index]))) {
        problem = "criterion_" + index; // its message names that criterion's maximum
      }
      setProblem(input, problem);
      if (problem || got.blank) {
        complete = false;
      } else {
        sum += got.value;
      }
    });
    return complete ? sum : null;
  }

  // -- showing -----------------------------------------------------------------------------------------------------

  function shown(value, suffix) {
    if (value === null || value === undefined) {
      return "—";
    }
    var text = round2(value).toFixed(2).replace(/\.?0+$/, "");
    return text.replace(".", decimal) + (suffix || "");
  }

  function gradeOf(total) {
    // NĐ 335 Điều 20: ≥ 90, 70–<90, 50–<70, < 50 (the server also applies the cases that force KHTNV).
    if (total >= 90) { return "HTXSNV"; }
    if (total >= 70) { return "HTTNV"; }
    if (total >= 50) { return "HTNV"; }
    return "KHTNV";
  }

  // The grade as the reader's language names it (the page gives the names), with its code.
  var gradeNames = readJson("data-grade-names", {});

  function gradeName(code) {
    return gradeNames[code] ? gradeNames[code] + " (" + code + ")" : code;
  }

  function output(name, text) {
    var element = panel.querySelector('[data-out="' + name + '"]');
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function update() {
    var result = products();
    var criteriaPoints = criteria();
    output("quantity_pct", shown(result && result.quantity_pct, "%"));
    output("quality_pct", shown(result && result.quality_pct, "%"));
    output("progress_pct", shown(result && result.progress_pct, "%"));
    output("task_points", shown(result && result.task_points));
    output("criteria_points", shown(criteriaPoints));
    // Like the server, the total is rounded once, from the unrounded parts.
    var total = result && criteriaPoints !== null ? round2(criteriaPoints + result.task_points) : null;
    output("total", shown(total));
    output("grade", total === null ? "—" : gradeName(gradeOf(total)));
    panel.classList.toggle("incomplete", total === null);
  }

  form.addEventListener("input", function (event) {
    var target = event.target;
    if (target && target.closest) {
      // What the server said about this field was about the value before this change.
      var cell = container(target);
      Array.prototype.forEach.call(cell.querySelectorAll(".field-error:not(.live-error)"), function (old) {
        old.parentNode.removeChild(old);
      });
    }
    update();
  });
  panel.hidden = false;
  update();
})();
