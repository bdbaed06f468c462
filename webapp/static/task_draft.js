/*
 * What is typed into a task form is not lost by leaving the page (decision 0062). While the form holds changes not
 * yet saved, the page saves them as the draft by itself: 30 seconds after a change, and when the person leaves it
 * (a link, the back button, another tab, the phone's home screen). It posts the form as the "Save draft" button
 * does — the same address, the same CSRF token, the same checks on the server — with `background=1`, which the
 * server answers with a short status instead of a page (webapp/tasks/views.py `_background_answer`).
 *
 * What cannot be saved that way is asked about before leaving (the browser's own "leave this page?" prompt): a
 * chosen file (a browser cannot send it once the page is gone, and it is large), the comment (drafts keep only the
 * form), or anything when the last background save failed (the session or the form expired). Submitting or saving
 * the draft with the page's own buttons never asks. A form the server gave back (`data-unsaved`: refused, or its
 * token expired) counts as changed from the start: what it holds was typed, not saved. No inline script: the CSP
 * forbids it.
 */
(function () {
  "use strict";

  var form = document.querySelector("form.taskform[data-autosave]");
  if (!form) {
    return;
  }
  var status = form.querySelector("[data-autosave-status]");
  var url = form.getAttribute("action") || window.location.pathname;
  var AFTER_CHANGE_MS = 30000; // a form's data-autosave-after (milliseconds) may say otherwise
  var SKIPPED = { csrf_token: true, comment_text: true, action: true, decision: true };

  // The form's typed values (not its files, not the comment) as one text, to tell whether anything changed.
  function snapshot() {
    var parts = [];
    new FormData(form).forEach(function (value, key) {
      if (!SKIPPED[key] && typeof value === "string") {
        parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
      }
    });
    return parts.join("&");
  }

  function comment() {
    var box = form.querySelector("[name=comment_text]");
    return box ? box.value : "";
  }

  function filesChosen() {
    return Array.prototype.some.call(form.querySelectorAll("input[type=file]"), function (input) {
      return input.files && input.files.length > 0;
    });
  }

  // What "Save draft" would post, without the files: a chosen file stays for the button to send.
  function payload() {
    var data = new FormData();
    new FormData(form).forEach(function (value, key) {
      if (typeof value === "string" && key !== "action" && key !== "decision") {
        data.append(key, value);
      }
    });
    data.append("action", "draft");
    data.append("background", "1");
    return data;
  }

  // A form given back by the server (refused, or its token expired) holds what was typed and not saved.
  var saved = form.hasAttribute("data-unsaved") ? null : snapshot();
  var firstComment = comment();
  var sending = false; // the form is being sent by one of its own buttons
  var failed = false; // the last background save was refused or never arrived
  var timer = null;

  function changed() {
    return !sending && snapshot() !== saved;
  }

  function show(message) {
    if (status && message) {
      status.textContent = message;
    }
  }

  // While the page stays: the answer says when the draft was saved (or that it was not).
  function saveNow() {
    var now = snapshot();
    window
      .fetch(url, { method: "POST", body: payload(), credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok && body && body.saved === true, body: body || {} };
        });
      })
      .then(function (answer) {
        failed = !answer.ok;
        if (answer.ok) {
          saved = now;
        }
        show(answer.body.message || status.getAttribute("data-failed"));
      })
      .catch(function () {
        failed = true; // offline, or signed out (the sign-in page is not a status)
        show(status && status.getAttribute("data-failed"));
      });
  }

  // While the page goes away: the browser sends it even after the page is gone. False when it cannot.
  function saveOnLeaving() {
    if (!changed()) {
      return true;
    }
    if (failed || !navigator.sendBeacon) {
      return false;
    }
    var now = snapshot();
    if (navigator.sendBeacon(url, payload())) {
      saved = now;
      return true;
    }
    return false;
  }

  function scheduleSave() {
    if (timer === null) {
      timer = window.setTimeout(function () {
        timer = null;
        if (changed()) {
          saveNow();
        }
      }, Number(form.getAttribute("data-autosave-after")) || AFTER_CHANGE_MS);
    }
  }

  if (saved === null) {
    scheduleSave();
  }
  form.addEventListener("input", scheduleSave);
  form.addEventListener("change", scheduleSave);

  // Listened to on the window, so after the form's other scripts: a submission one of them stopped does not count.
  window.addEventListener("submit", function (event) {
    if (event.target === form && !event.defaultPrevented) {
      sending = true;
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (sending) {
      return;
    }
    var kept = saveOnLeaving();
    if (!kept || filesChosen() || comment() !== firstComment) {
      event.preventDefault();
      event.returnValue = ""; // older browsers need it set to show their prompt
    }
  });

  // A phone leaves a page without "beforeunload": the tab is hidden, then maybe never shown again.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && !sending) {
      saveOnLeaving();
    }
  });
  window.addEventListener("pagehide", function () {
    if (!sending) {
      saveOnLeaving();
    }
  });
  // Back to a page kept in the browser's memory after leaving it: it is being worked on again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      sending = false;
    }
  });
})();
