/* Común CMS admin editors: progressive enhancements of templates/admin/_editing.html.
 * Every editor works without this file (the "Preview" and "Save" buttons post the form).
 *
 * form[data-editor]           warn before leaving the page with unsaved changes (beforeunload);
 *                             form[data-unsaved] starts with unsaved changes (after a server preview)
 * form[data-autosave]         save the form every 30 s while it has unsaved changes: POST of the
 *                             form to its own action with autosave=1; the view answers
 *                             toolkit.autosave_reply {"ok", "message", "errors"}, shown in
 *                             [data-editor-status] (its data-failed text when there is no JSON answer)
 * Both forms come from the editor_form macro; the preview from a MarkdownField (admin/_forms.html).
 * [data-md-editor]            refresh [data-md-preview] from [data-md-source] as the person types
 *                             (POST text + csrf_token to data-preview-url; sanitized HTML back)
 */
(function () {
  "use strict";

  // window.COMUN_AUTOSAVE_MS lets the browser tests save sooner than every 30 seconds
  var AUTOSAVE_MS = window.COMUN_AUTOSAVE_MS || 30000;
  var PREVIEW_MS = 600;

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  function csrfToken(form) {
    var input = form && form.querySelector("input[name='csrf_token'], input[name$='-csrf_token']");
    return input ? input.value : "";
  }

  function setupEditor(form) {
    // data-unsaved: the server showed the submitted form again (its "Preview" button) unsaved
    var dirty = form.hasAttribute("data-unsaved");
    var submitting = false;
    var saving = false;
    var status = form.querySelector("[data-editor-status]");

    function say(text) { if (status) { status.textContent = text; } }
    function failed() { dirty = true; say(status ? status.getAttribute("data-failed") || "" : ""); }

    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty && !submitting) {
        event.preventDefault();
        event.returnValue = "";  // the browser shows its own "leave the page?" question
        return "";
      }
      return undefined;
    });

    if (!form.hasAttribute("data-autosave") || !window.fetch || !window.FormData) { return; }
    window.setInterval(function () {
      if (!dirty || saving || submitting) { return; }
      saving = true;
      dirty = false;
      var data = new FormData(form);
      data.delete("preview");
      data.set("autosave", "1");
      // the same URL as the "Save" button: the view answers toolkit.autosave_reply (JSON)
      fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                          headers: {"Accept": "application/json"}})
        .then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (type.indexOf("application/json") === -1) { throw new Error("not JSON"); }  // e.g. the login page
          return response.json();
        })
        .then(function (answer) {
          if (!answer.ok) { dirty = true; }
          say([answer.message].concat(answer.errors || []).join(" "));
        })
        .catch(failed)
        .then(function () { saving = false; });
    }, AUTOSAVE_MS);
  }

  function setupPreview(box) {
    var source = box.querySelector("[data-md-source]");
    var target = box.querySelector("[data-md-preview]");
    var url = box.getAttribute("data-preview-url");
    if (!source || !target || !url || !window.fetch || !window.FormData) { return; }
    var timer = null;
    source.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var data = new FormData();
        data.set("text", source.value);
        data.set("csrf_token", csrfToken(source.form));
        fetch(url, {method: "POST", body: data, credentials: "same-origin"})
          .then(function (response) { if (!response.ok) { throw new Error(String(response.status)); } return response.text(); })
          .then(function (html) { target.innerHTML = html; })  // sanitized by the server (nh3)
          .catch(function () { /* keep the last preview; the button still works */ });
      }, PREVIEW_MS);
    });
  }

  ready(function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-editor]"), setupEditor);
    Array.prototype.forEach.call(document.querySelectorAll("[data-md-editor]"), setupPreview);
  });
})();
