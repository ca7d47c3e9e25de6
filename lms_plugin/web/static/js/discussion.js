/* New posts of the group appear without a reload: poll the blueprint's small JSON endpoint. */
(function () {
  "use strict";
  var thread = document.getElementById("thread");
  if (!thread) return;
  var every = Math.max(1, Number(thread.dataset.pollSeconds) || 3) * 1000;
  var last = Number(thread.dataset.lastId) || 0;
  var live = document.querySelector('[data-test="live-status"]');
  var empty = document.getElementById("no-posts");
  var busy = false;

  function place(post) {
    if (document.getElementById("post-" + post.id)) return;
    var holder = document.createElement("div");
    holder.innerHTML = post.html;          // rendered by the server from sanitised HTML
    var node = holder.firstElementChild;
    var parent = post.parent_id && thread.querySelector('[data-replies-for="' + post.parent_id + '"]');
    (parent || thread).appendChild(node);
    node.classList.add("arrived");
    if (empty) empty.hidden = true;
    if (window.CaseLabRich) window.CaseLabRich.attach(node);
  }

  function poll() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(thread.dataset.pollUrl + "?after=" + last, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        data.posts.forEach(place);
        last = Math.max(last, data.last_id);
        if (data.posts.length && live) live.textContent = live.dataset.msgNew || "";
      })
      .catch(function () { /* offline for a moment: the next poll catches up */ })
      .finally(function () { busy = false; });
  }

  setInterval(poll, every);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
})();
