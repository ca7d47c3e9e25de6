/* The essay editor: live word count, autosave every few seconds and when the page is left,
   and a copy on this device so nothing typed is lost if the network or the server says no. */
(function () {
  "use strict";
  var form = document.getElementById("essay-form");
  if (!form) return;
  var area = form.querySelector("textarea[name=body]");
  var countEl = document.getElementById("word-count");
  var hint = document.getElementById("word-hint");
  var status = document.getElementById("autosave-status");
  var restoreNote = document.getElementById("restore-note");
  var d = form.dataset;
  var every = Math.max(1, Number(d.autosaveSeconds) || 5) * 1000;
  var min = Number(d.min) || 0;
  var max = d.max ? Number(d.max) : null;
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var lastSaved = area.value;
  var refused = null;       // a body the server turned down (too long): don't resend it unchanged
  var inFlight = false;
  var keepTimer = null;

  function fill(message, name, value) { return message.replace("{" + name + "}", value); }

  function meter() {
    var n = window.CaseLab.countWords(area.value);
    countEl.textContent = n;
    var state = "ok", text = d.msgOk;
    if (n < min) { state = "short"; text = fill(d.msgShort, "n", min - n); }
    else if (max !== null && n > max) { state = "long"; text = fill(d.msgLong, "n", n - max); }
    hint.textContent = "· " + text;
    hint.dataset.state = state;
  }

  function keepLocally() {
    try { localStorage.setItem(d.storageKey, JSON.stringify({ body: area.value, at: Date.now() })); } catch (e) { /* private mode */ }
  }
  function forgetLocal() {
    try { localStorage.removeItem(d.storageKey); } catch (e) { /* private mode */ }
  }
  function setStatus(text, state) { status.textContent = text; status.dataset.state = state; }

  function save() {
    var body = area.value;
    if (inFlight || body === lastSaved || body === refused) return;
    inFlight = true;
    setStatus(d.msgSaving, "saving");
    fetch(d.autosaveUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ body: body })
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (!result.ok) {
        refused = body;
        setStatus(result.data.error || d.msgOffline, "error");
        return;
      }
      lastSaved = body;
      if (area.value === body) forgetLocal();
      var at = new Date(result.data.saved_at);
      setStatus(fill(d.msgSaved, "t", at.toLocaleTimeString("vi-VN")), "saved");
    }).catch(function () {
      setStatus(d.msgOffline, "error");
    }).finally(function () { inFlight = false; });
  }

  function saveOnLeave() {
    if (area.value === lastSaved || area.value === refused) return;
    keepLocally();
    var data = new FormData();
    data.append("csrf_token", token);
    data.append("body", area.value);
    data.append("quiet", "1");
    var queued = navigator.sendBeacon && navigator.sendBeacon(d.autosaveUrl, data);
    if (!queued) {
      fetch(d.autosaveUrl, { method: "POST", credentials: "same-origin", keepalive: true, body: data });
    }
    lastSaved = area.value;     // visibilitychange and pagehide both fire on leaving: send once
  }

  function offerRestore() {
    var kept;
    try { kept = JSON.parse(localStorage.getItem(d.storageKey) || "null"); } catch (e) { kept = null; }
    if (!kept || typeof kept.body !== "string") return;
    var savedAt = d.savedAt ? Date.parse(d.savedAt) : 0;
    if (kept.body === area.value || kept.at <= savedAt) { forgetLocal(); return; }
    restoreNote.hidden = false;
    document.getElementById("restore-button").addEventListener("click", function () {
      area.value = kept.body;
      restoreNote.hidden = true;
      meter();
      save();
    });
  }

  area.addEventListener("input", function () {
    meter();
    if (status.dataset.state !== "saving") setStatus(d.msgUnsaved, "dirty");
    clearTimeout(keepTimer);
    keepTimer = setTimeout(keepLocally, 400);
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") saveOnLeave();
  });
  window.addEventListener("pagehide", saveOnLeave);
  form.addEventListener("submit", function () { lastSaved = area.value; });   // the form carries the text itself
  setInterval(save, every);
  meter();
  offerRestore();
})();
