/* Común CMS theme: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  ready(function () {
    // 1. On small screens, collapse the main navigation behind a "Menu" button.
    var nav = document.getElementById("main-nav");
    if (nav && nav.querySelector("ul")) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "nav-toggle";
      button.textContent = nav.getAttribute("data-toggle-label") || "Menu";
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-controls", "main-nav-list");
      nav.querySelector("ul").id = "main-nav-list";
      nav.setAttribute("data-collapsed", "true");
      nav.insertBefore(button, nav.firstChild);
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") === "true";
        button.setAttribute("aria-expanded", String(!open));
        nav.setAttribute("data-collapsed", String(open));
      });
    }

    // 2. Move focus to a form's error summary so screen-reader and keyboard users find it.
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }

    // 3. History: after comparing two versions, bring the result into view.
    var result = document.getElementById("diff");
    if (result && !window.location.hash) { result.scrollIntoView(); }
  });
})();
