/*
 * A file too large for the server is refused where it is chosen, not after the form is sent (decision 0110): the
 * server answers a request over its limit with an error page before reading any of it, so everything typed in the
 * form would be lost with it. A chosen file larger than its field's limit (`data-max-bytes`, else the page's
 * `data-upload-limit` on <body>) is taken off the field at once, and the field says why (`data-too-large`, with
 * {name} for the file's name); the rest of the form stays as typed and can still be saved. Sending a form whose
 * files together exceed the page's limit is stopped, with the reason at the last file chosen.
 *
 * The error page of a refused upload (errors/upload_too_large.html) has a "Go back" link (`data-history-back`):
 * going back in the history returns to the form as it was left, typed values included, where reloading its
 * address would not. No inline script: the CSP forbids it.
 */
(function () {
  "use strict";

  var body = document.body;
  var pageLimit = Number(body.getAttribute("data-upload-limit")) || 0;

  function messageFor(input, name) {
    var text = input.getAttribute("data-too-large") || body.getAttribute("data-upload-too-large") || "";
    return text.split("{name}").join(name);
  }

  function errorBox(input) {
    var id = (input.id || input.name) + "-size-error";
    var box = document.getElementById(id);
    if (!box) {
      box = document.createElement("div");
      box.id = id;
      box.className = "field-error";
      box.setAttribute("role", "alert");
      box.setAttribute("data-upload-error", "");
      input.insertAdjacentElement("afterend", box);
    }
    return box;
  }

  function describedBy(input, id, present) {
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (each) {
      return each && each !== id;
    });
    if (present) {
      ids.push(id);
    }
    if (ids.length) {
      input.setAttribute("aria-describedby", ids.join(" "));
    } else {
      input.removeAttribute("aria-describedby");
    }
  }

  function say(input, message) {
    var box = errorBox(input);
    box.textContent = message;
    describedBy(input, box.id, true);
    input.setAttribute("aria-invalid", "true");
  }

  function clear(input) {
    var box = document.getElementById((input.id || input.name) + "-size-error");
    if (box) {
      describedBy(input, box.id, false);
      box.parentNode.removeChild(box);
      if (!input.closest(".field-invalid, .invalid")) {
        input.removeAttribute("aria-invalid");
      }
    }
  }

  function tooLarge(input) {
    var limit = Number(input.getAttribute("data-max-bytes")) || pageLimit;
    if (!limit || !input.files) {
      return null;
    }
    return (
      Array.prototype.find.call(input.files, function (file) {
        return file.size > limit;
      }) || null
    );
  }

  // A file too large is taken off the field: it could never be sent, and the form must still be sendable.
  function checkChosen(input) {
    var file = tooLarge(input);
    if (file) {
      input.value = "";
      say(input, messageFor(input, file.name));
    } else {
      clear(input);
    }
  }

  function fileInputs(form) {
    return Array.prototype.slice.call(form.querySelectorAll("input[type=file]"));
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.type === "file") {
      checkChosen(input);
    }
  });

  // Capturing, so the form's other scripts (task_draft.js) see a submission stopped here as stopped.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var inputs = fileInputs(form);
      if (!inputs.length) {
        return;
      }
      // Only refusals here: a message said when a file was taken off stays until another file is chosen.
      var refused = inputs.filter(function (input) {
        var file = tooLarge(input);
        if (file) {
          input.value = "";
          say(input, messageFor(input, file.name));
        }
        return file !== null;
      });
      var total = 0;
      var last = null;
      inputs.forEach(function (input) {
        Array.prototype.forEach.call(input.files || [], function (file) {
          total += file.size;
          last = input;
        });
      });
      if (!refused.length && pageLimit && total > pageLimit && last) {
        say(last, body.getAttribute("data-upload-all-too-large") || "");
        refused.push(last);
      }
      if (refused.length) {
        event.preventDefault();
        refused[0].focus();
      }
    },
    true
  );

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[data-history-back]") : null;
    if (link && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });
})();
