/*
 * The post select of the start pages follows the unit select: choosing a unit asks the page's scoped JSON endpoint
 * (the unit select's data-posts-url, ?unit=<id>) for that unit's posts and fills the post select with them.
 * Without this script the "Show the posts of this unit" button re-renders the page with the same list; with it the
 * button is removed (so that Enter still presses "Start"), and put back if the posts cannot be loaded.
 * No inline script or style: the CSP forbids them.
 */
(function () {
  "use strict";

  function option(value, label) {
    var element = document.createElement("option");
    element.value = value;
    element.textContent = label;
    return element;
  }

  function fill(select, placeholder, posts) {
    while (select.firstChild) {
      select.removeChild(select.firstChild);
    }
    select.appendChild(option("", placeholder));
    posts.forEach(function (post) {
      select.appendChild(option(String(post.id), post.label));
    });
  }

  function attach(unitSelect) {
    var postSelect = document.getElementById(unitSelect.getAttribute("data-posts-select"));
    var url = unitSelect.getAttribute("data-posts-url");
    if (!postSelect || !url || !window.fetch) {
      return;
    }
    var button = unitSelect.form && unitSelect.form.querySelector("[data-show-posts]");
    var buttonPlace = button ? button.parentNode : null;
    if (button) {
      buttonPlace.removeChild(button);
    }
    var asked = 0;
    unitSelect.addEventListener("change", function () {
      var unit = unitSelect.value;
      var mine = ++asked;
      if (!unit) {
        fill(postSelect, postSelect.getAttribute("data-unit-first"), []);
        return;
      }
      postSelect.disabled = true;
      window.canboGetJson(url + "?unit=" + encodeURIComponent(unit))
        .then(function (body) {
          if (mine !== asked) {
            return; // a later choice is on its way
          }
          var posts = body.posts || [];
          fill(postSelect, postSelect.getAttribute(posts.length ? "data-choose" : "data-none"), posts);
          postSelect.disabled = false;
        })
        .catch(function () {
          if (mine !== asked) {
            return;
          }
          fill(postSelect, postSelect.getAttribute("data-failed"), []);
          postSelect.disabled = false;
          if (button && !button.parentNode) {
            buttonPlace.appendChild(button); // the way without the script still works
          }
        });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("select[data-posts-url]"), attach);
})();
