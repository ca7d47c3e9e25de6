/* Inline comments on the examiner's marking page: select a passage of the essay, write a comment, save it
   without reloading; delete one the same way. Without this script the page still lists and deletes comments
   (plain forms).

   Offsets are Unicode code points from the start of the essay element, whose text content is exactly the
   essay body (the server renders it from escaped pieces, web/annotated.py): Array.from(text).length counts a
   character outside the BMP once, as Python does, where a JavaScript string length would count it twice. */
(function () {
  "use strict";
  var essay = document.getElementById("essay-body");
  var panel = document.getElementById("annotate-panel");
  if (!essay || !panel || !essay.dataset.annotateUrl || !window.fetch || !Array.from) return;
  var form = document.getElementById("annotate-form");
  var comment = form.querySelector("textarea[name=comment]");
  var openButton = panel.querySelector("[data-annotate=open]");
  var quoteOut = panel.querySelector("[data-annotate=quote]");
  var statusOut = document.querySelector("[data-annotate=status]");
  var list = document.getElementById("annotation-list");
  var template = document.getElementById("annotation-template");
  var empty = document.querySelector("[data-annotate=empty]");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : "";
  var chosen = null;                // {start, end, quote}: the passage the comment will be attached to

  function points(text) { return Array.from(text).length; }

  function excerpt(text, limit) {
    var chars = Array.from(text);
    return chars.length > limit ? chars.slice(0, limit).join("") + "…" : text;
  }

  function say(message) { statusOut.textContent = message || ""; }

  /* Code points of the essay text before the boundary point (container, offset): walk the text nodes in
     order, counting each one that lies before it. */
  function offsetOf(container, offset) {
    var walker = document.createTreeWalker(essay, NodeFilter.SHOW_TEXT);
    var boundary = document.createRange();
    boundary.setStart(container, offset);
    var count = 0, node;
    while ((node = walker.nextNode())) {
      if (node === container) return count + points(node.data.slice(0, offset));
      if (boundary.comparePoint(node, 0) >= 0) break;     // this text starts at or after the boundary
      count += points(node.data);
    }
    return count;
  }

  function selectedPassage() {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    var range = selection.getRangeAt(0);
    if (!essay.contains(range.startContainer) || !essay.contains(range.endContainer)) return null;
    var start = offsetOf(range.startContainer, range.startOffset);
    var end = offsetOf(range.endContainer, range.endOffset);
    if (end <= start) return null;
    return {start: start, end: end, quote: Array.from(essay.textContent).slice(start, end).join("")};
  }

  // A new selection in the essay offers the button; the last one is kept while the person clicks or taps it.
  function onSelection() {
    if (!form.hidden) return;              // writing a comment: the passage stays the one chosen
    var found = selectedPassage();
    if (!found) return;
    chosen = found;
    quoteOut.textContent = excerpt(found.quote, 160);
    panel.hidden = false;
    openButton.hidden = false;
  }

  var pending = null;
  document.addEventListener("selectionchange", function () {
    clearTimeout(pending);
    pending = setTimeout(onSelection, 150);
  });
  essay.addEventListener("mouseup", onSelection);
  essay.addEventListener("keyup", onSelection);

  function openForm() {
    if (!chosen) return;
    form.elements.start.value = chosen.start;
    form.elements.end.value = chosen.end;
    form.elements.quote.value = chosen.quote;
    form.hidden = false;
    openButton.hidden = true;
    openButton.setAttribute("aria-expanded", "true");
    comment.focus();
  }

  function close() {
    chosen = null;
    form.hidden = true;
    form.reset();
    panel.hidden = true;
    openButton.setAttribute("aria-expanded", "false");
  }

  openButton.addEventListener("click", openForm);
  panel.querySelector("[data-annotate=cancel]").addEventListener("click", function () {
    close();
    essay.focus();
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { close(); essay.focus(); }
  });

  function send(url, payload) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(payload)
    }).then(function (response) {
      if (response.status === 204) return {ok: true, body: null};
      return response.json().then(function (body) { return {ok: response.ok, body: body}; },
                                  function () { return {ok: false, body: null}; });
    });
  }

  // The comments as the list holds them, in the order of the text.
  function notes() {
    return Array.prototype.map.call(list.querySelectorAll("li[data-id]"), function (item) {
      return {key: "a" + item.dataset.id, start: Number(item.dataset.start), end: Number(item.dataset.end),
              comment: item.querySelector(".annotation-comment").textContent};
    });
  }

  // The essay again, cut at every comment's offsets like the server does (comments may overlap).
  function highlight() {
    var chars = Array.from(essay.textContent), all = notes(), cuts = [0, chars.length];
    all.forEach(function (note) { cuts.push(Math.min(note.start, chars.length), Math.min(note.end, chars.length)); });
    cuts = cuts.filter(function (cut, i) { return cuts.indexOf(cut) === i; }).sort(function (a, b) { return a - b; });
    var pieces = document.createDocumentFragment();
    for (var i = 0; i + 1 < cuts.length; i++) {
      var a = cuts[i], b = cuts[i + 1], text = chars.slice(a, b).join("");
      var over = all.filter(function (note) { return note.start <= a && b <= note.end; });
      if (!over.length) { pieces.appendChild(document.createTextNode(text)); continue; }
      var mark = document.createElement("mark");
      mark.className = "note";
      mark.tabIndex = 0;
      mark.dataset.notes = over.map(function (note) { return note.key; }).join(" ");
      mark.setAttribute("aria-describedby", over.map(function (note) { return "note-" + note.key; }).join(" "));
      mark.dataset.comment = over.map(function (note) { return note.comment; }).join("\n―\n");
      mark.textContent = text;
      pieces.appendChild(mark);
    }
    while (essay.firstChild) essay.removeChild(essay.firstChild);
    essay.appendChild(pieces);
    if (empty) empty.hidden = all.length > 0;
  }

  function addToList(note) {
    var item = template.content.firstElementChild.cloneNode(true);
    item.id = "note-a" + note.id;
    item.dataset.id = note.id;
    item.dataset.start = note.start;
    item.dataset.end = note.end;
    item.tabIndex = -1;
    item.querySelector(".annotation-quote").textContent = excerpt(note.quote, 200);
    item.querySelector(".annotation-comment").textContent = note.comment;
    item.querySelector("form").action = essay.dataset.deleteUrl.replace(/\/0\/delete$/, "/" + note.id + "/delete");
    var after = Array.prototype.find.call(list.querySelectorAll("li[data-id]"), function (other) {
      var start = Number(other.dataset.start);
      return start > note.start || (start === note.start && Number(other.dataset.id) > note.id);
    });
    list.insertBefore(item, after || null);
    return item;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!chosen) return;
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    send(essay.dataset.annotateUrl, {start: chosen.start, end: chosen.end, quote: chosen.quote,
                                     comment: comment.value})
      .then(function (answer) {
        if (!answer.ok) { say((answer.body && answer.body.error) || essay.dataset.msgError); return; }
        var item = addToList(answer.body);
        highlight();
        close();
        window.getSelection().removeAllRanges();
        say(essay.dataset.msgSaved);
        item.focus();
      }, function () { say(essay.dataset.msgError); })
      .then(function () { button.disabled = false; });
  });

  list.addEventListener("submit", function (event) {
    var target = event.target;
    if (!target.matches("form[data-annotate=delete]")) return;
    event.preventDefault();
    var item = target.closest("li");
    send(target.action, {}).then(function (answer) {
      if (!answer.ok) { say((answer.body && answer.body.error) || essay.dataset.msgError); return; }
      item.parentNode.removeChild(item);
      highlight();
      say(essay.dataset.msgDeleted);
      essay.focus();
    }, function () { say(essay.dataset.msgError); });
  });
})();
