/*
 * The open page's preview: "Evaluations to open" follows the choice about cadres without a login. The server writes
 * both figures, each worded for its option ([data-without-account="skip"|"open"]); this shows only the one of the
 * chosen radio of the fieldset marked data-opening-choice. Without this script both stay on the page, each saying
 * which option it belongs to. No inline script: the CSP forbids it.
 */
(function () {
  "use strict";

  var choice = document.querySelector("[data-opening-choice]");
  var figures = document.querySelectorAll("[data-without-account]");
  if (!choice || !figures.length) {
    return;
  }
  var radios = choice.querySelectorAll('input[type="radio"]');

  function follow() {
    var chosen = null;
    Array.prototype.forEach.call(radios, function (radio) {
      if (radio.checked) {
        chosen = radio.value;
      }
    });
    Array.prototype.forEach.call(figures, function (figure) {
      figure.hidden = chosen !== null && figure.getAttribute("data-without-account") !== chosen;
    });
  }

  Array.prototype.forEach.call(radios, function (radio) {
    radio.addEventListener("change", follow);
  });
  follow(); // a choice restored by the browser (back, reload) may differ from the one the page was made with
})();
