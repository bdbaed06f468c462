/*
 * The one way the pages' scripts ask the server for JSON (a cadre search, a plan's entries, a unit's posts): with the
 * session's cookie, asking for JSON, and a refused answer (403, 500 …) turned into a rejected promise, so that
 * each caller's catch keeps what the person typed or chose.
 */
(function () {
  "use strict";

  window.canboGetJson = function (url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    });
  };
})();
