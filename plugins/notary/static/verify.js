/* Notary verify page: checks, in the citizen's browser, that a published record version is in the
 * transparency log, without trusting the server's own verdict.
 *
 * - SHA-256 with WebCrypto (crypto.subtle.digest), RFC 6962 leaf/node hashing (0x00 / 0x01 prefixes)
 * - inclusion proof verification, RFC 9162 section 2.1.3.2
 * - checkpoint signature: C2SP signed-note, Ed25519 via WebCrypto, against the log verifier keys
 *   printed in the page (vkey = name+keyid+base64(0x01 || public key))
 * - receipts: C2SP tlog-proof (c2sp.org/tlog-proof@v1)
 * No third-party code. Without JavaScript the server's check is shown; with it the browser checks a
 * receipt first, then posts the same form in the background and shows the server's verdict too.
 */
(function () {
  "use strict";
  var enc = new TextEncoder();
  var dataEl = document.getElementById("notary-data");
  if (!dataEl || !window.crypto || !crypto.subtle) { return; }
  var DATA = JSON.parse(dataEl.textContent);
  var T = DATA.messages;

  function b64(s) {
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }
  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function concat() {
    var n = 0, i, off = 0;
    for (i = 0; i < arguments.length; i++) { n += arguments[i].length; }
    var out = new Uint8Array(n);
    for (i = 0; i < arguments.length; i++) { out.set(arguments[i], off); off += arguments[i].length; }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) { return false; }
    for (var i = 0; i < a.length; i++) { if (a[i] !== b[i]) { return false; } }
    return true;
  }
  async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }
  function leafHash(entry) { return sha256(concat(new Uint8Array([0]), entry)); }
  function nodeHash(l, r) { return sha256(concat(new Uint8Array([1]), l, r)); }

  /* RFC 9162 2.1.3.2 */
  async function rootFromInclusion(index, size, leaf, proof) {
    if (index >= size) { throw new Error("index >= size"); }
    var fn = index, sn = size - 1, r = leaf;
    for (var i = 0; i < proof.length; i++) {
      var p = proof[i];
      if (sn === 0) { throw new Error("proof too long"); }
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) { throw new Error("proof too short"); }
    return r;
  }

  function parseVkey(vkey) {
    var m = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(vkey);
    if (!m) { throw new Error("bad vkey"); }
    var key = b64(m[3]);
    return { name: m[1], keyid: m[2], alg: key[0], pub: key.slice(1) };
  }

  /* C2SP signed-note + tlog-checkpoint: returns {origin, size, root} if a log key signed it. */
  async function openCheckpoint(noteText, vkeys) {
    var split = noteText.indexOf("\n\n");
    if (split < 0) { throw new Error(T.malformed_checkpoint); }
    var text = noteText.slice(0, split + 1);
    var lines = text.split("\n");
    var origin = lines[0], size = parseInt(lines[1], 10), root = b64(lines[2]);
    if (!/^(0|[1-9][0-9]*)$/.test(lines[1]) || root.length !== 32) { throw new Error(T.malformed_checkpoint); }
    var sigLines = noteText.slice(split + 2).split("\n").filter(function (l) { return l.length; });
    var textBytes = enc.encode(text);
    for (var i = 0; i < sigLines.length; i++) {
      var m = /^\u2014 (\S+) (\S+)$/.exec(sigLines[i]);
      if (!m || m[1] !== origin) { continue; }
      var raw = b64(m[2]);
      for (var k = 0; k < vkeys.length; k++) {
        var v = parseVkey(vkeys[k]);
        if (v.name !== origin || v.alg !== 1 || v.keyid !== hex(raw.slice(0, 4))) { continue; }
        var key;
        try {
          key = await crypto.subtle.importKey("raw", v.pub, { name: "Ed25519" }, false, ["verify"]);
        } catch (err) {
          var unsupported = new Error(T.unsupported);
          unsupported.unsupported = true;
          throw unsupported;
        }
        if (await crypto.subtle.verify({ name: "Ed25519" }, key, raw.slice(4), textBytes)) {
          return { origin: origin, size: size, root: root };
        }
        throw new Error(T.bad_signature);
      }
    }
    throw new Error(T.no_signature);
  }

  async function checkInclusion(entryBytes, index, proof, noteText) {
    var cp = await openCheckpoint(noteText, DATA.log_vkeys);
    var root = await rootFromInclusion(index, cp.size, await leafHash(entryBytes), proof);
    if (!equal(root, cp.root)) { throw new Error(T.bad_proof); }
    return cp;
  }

  function show(el, ok, detail, err, redacted) {
    el.textContent = "";
    if (redacted) {
      var label = document.createElement("strong");
      label.textContent = T.redacted;
      el.appendChild(label);
      el.appendChild(document.createTextNode(" " + detail));
      el.setAttribute("data-verdict", "redacted");
      el.className = "notary-browser-check notice";
      el.hidden = false;
      return;
    }
    if (err && err.unsupported) {
      el.textContent = detail;
      el.setAttribute("data-verdict", "unsupported");
      el.className = "notary-browser-check notice";
      el.hidden = false;
      return;
    }
    var strong = document.createElement("strong");
    strong.textContent = ok ? T.match : T.no_match;
    el.appendChild(strong);
    el.appendChild(document.createTextNode(" " + detail));
    el.setAttribute("data-verdict", ok ? "match" : "mismatch");
    el.className = "notary-browser-check notice " + (ok ? "notice--success" : "notice--warning");
    el.hidden = false;
  }

  async function checkMatch(m, el) {
    try {
      var entry = b64(m.entry);
      var doc = JSON.parse(new TextDecoder().decode(entry));
      if (m.redaction) {
        /* the content is gone: only the entry's place in the signed log can be checked */
        if (!m.checkpoint) { throw new Error(T.no_checkpoint); }
        var rcp = await checkInclusion(entry, m.index, m.proof.map(b64), m.checkpoint);
        show(el, false, T.redacted_in_browser.replace("{size}", rcp.size), null, true);
        return;
      }
      var contentHash = hex(await sha256(enc.encode(m.canonical_json)));
      if (contentHash !== doc.content_sha256) { throw new Error(T.content_mismatch); }
      if (m.kind === "attachment") {
        var pub = JSON.parse(m.canonical_json);
        if (!(pub.attachments || []).some(function (a) { return a.sha256 === m.sha256; })) { throw new Error(T.file_not_listed); }
      } else if (doc.content_sha256 !== m.sha256) {
        throw new Error(T.content_mismatch);
      }
      if (!m.checkpoint) { throw new Error(T.no_checkpoint); }
      var cp = await checkInclusion(entry, m.index, m.proof.map(b64), m.checkpoint);
      show(el, true, T.checked_in_browser.replace("{size}", cp.size));
    } catch (e) {
      show(el, false, e.message || String(e), e);
    }
  }

  /* C2SP tlog-proof */
  function parseReceipt(text) {
    var lines = text.split("\n");
    if (lines[0] !== "c2sp.org/tlog-proof@v1") { throw new Error(T.malformed_receipt); }
    var i = 1;
    if (lines[i] && lines[i].indexOf("extra ") === 0) { i++; }
    var m = /^index (0|[1-9][0-9]*)$/.exec(lines[i] || "");
    if (!m) { throw new Error(T.malformed_receipt); }
    var index = parseInt(m[1], 10), hashes = [];
    for (i = i + 1; i < lines.length && lines[i] !== ""; i++) {
      var h = b64(lines[i]);
      if (h.length !== 32) { throw new Error(T.malformed_receipt); }
      hashes.push(h);
    }
    if (i >= lines.length) { throw new Error(T.malformed_receipt); }
    return { index: index, hashes: hashes, checkpoint: lines.slice(i + 1).join("\n") };
  }

  async function checkReceipt(receiptText, entryText, el) {
    try {
      var r = parseReceipt(receiptText.replace(/\r\n/g, "\n"));
      var entry = enc.encode(entryText.replace(/\r\n/g, "\n").replace(/\n+$/, ""));
      var cp = await checkInclusion(entry, r.index, r.hashes, r.checkpoint);
      show(el, true, T.receipt_ok.replace("{index}", r.index).replace("{size}", cp.size));
    } catch (e) {
      show(el, false, e.message || String(e), e);
    }
  }

  document.querySelectorAll("[data-notary-match]").forEach(function (el) {
    var m = DATA.matches[parseInt(el.getAttribute("data-notary-match"), 10)];
    if (m) { checkMatch(m, el); }
  });

  var fileForm = document.getElementById("notary-file-form");
  if (fileForm) {
    fileForm.addEventListener("submit", async function (ev) {
      var input = fileForm.querySelector("input[type=file]");
      if (!input.files || !input.files.length) { return; }
      ev.preventDefault();
      var buf = new Uint8Array(await input.files[0].arrayBuffer());
      var sha = hex(await sha256(buf));
      window.location.href = DATA.verify_url + "?sha256=" + sha;
    });
  }

  /* The text of a chosen file, or of the textarea when no file was chosen (the file goes in the
   * textarea so that what was checked stays visible). */
  async function fieldText(form, fileName, areaName) {
    var input = form.elements[fileName], area = form.elements[areaName];
    if (input && input.files && input.files.length) { area.value = await input.files[0].text(); }
    return area.value;
  }

  /* The server checks the same receipt too (and, on a training site, notes that a logged-in
   * participant checked one); its verdict replaces the one shown. A failure leaves the page as is. */
  async function askServer(form) {
    try {
      var resp = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" });
      var doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      var fresh = doc.getElementById("notary-receipt-server");
      var old = document.getElementById("notary-receipt-server");
      if (old) { old.remove(); }
      if (fresh) { document.getElementById("notary-receipt-browser").after(document.importNode(fresh, true)); }
    } catch (e) { /* the browser's own verdict stands */ }
  }

  var receiptForm = document.getElementById("notary-receipt-form");
  if (receiptForm) {
    receiptForm.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var out = document.getElementById("notary-receipt-browser");
      var receipt = await fieldText(receiptForm, "receipt_file", "receipt");
      var entry = await fieldText(receiptForm, "entry_file", "entry");
      await checkReceipt(receipt, entry, out);
      askServer(receiptForm);
    });
  }
})();
