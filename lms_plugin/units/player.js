/* The one script every host loads with a unit's view (web page or Open edX block).
 *
 * CaseLabUnitPlayer(root, options): root holds the unit's HTML; options are
 *   stateUrl     where the unit's state (and its HTML, with html=1) can be fetched
 *   liveSeconds  how often to look for a new version (0: never)
 *   csrf         a token sent as X-CSRFToken with every action
 *   version      the version of the HTML the page was built with
 * Forms marked data-unit-action are posted as JSON to their action (or the
 * button's formaction); the answer's html replaces the unit's. Without this
 * script the same forms post normally and the page reloads.
 */
function CaseLabUnitPlayer(root, options) {
  "use strict";
  var version = options.version || "";
  var busy = false;

  function message(text) {
    var box = root.querySelector("[data-unit-error]");
    if (!box) {
      box = document.createElement("p");
      box.setAttribute("data-unit-error", "");
      box.setAttribute("role", "alert");
      box.className = "cl-error";
      root.insertBefore(box, root.firstChild);
    }
    box.textContent = text || "";
  }

  function show(answer) {
    if (answer.html !== undefined) { root.innerHTML = answer.html; }
    if (answer.view && answer.view.version !== undefined) { version = answer.view.version || ""; }
  }

  function typing() {
    var active = document.activeElement;
    return active && root.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName) &&
      (active.value || "").length > 0;
  }

  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-unit-action")) { return; }
    event.preventDefault();
    var submitter = event.submitter;
    var url = (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action");
    var data = {};
    new FormData(form).forEach(function (value, key) { if (key !== "csrf_token") { data[key] = value; } });
    busy = true;
    fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(data),
                headers: {"Content-Type": "application/json", "Accept": "application/json",
                          "X-CSRFToken": options.csrf || ""}})
      .then(function (response) {
        return response.json().then(function (answer) { return {ok: response.ok, answer: answer}; });
      })
      .then(function (result) {
        if (result.ok) { show(result.answer); message(""); } else { message(result.answer.error); }
      })
      .catch(function () { message(options.offline || "…"); })
      .then(function () { busy = false; });
  });

  if (options.liveSeconds > 0 && options.stateUrl) {
    window.setInterval(function () {
      if (busy || typing() || document.hidden) { return; }
      var headers = {"Accept": "application/json"};
      if (version) { headers["If-None-Match"] = '"' + version + '"'; }
      fetch(options.stateUrl + (options.stateUrl.indexOf("?") < 0 ? "?" : "&") + "html=1",
            {credentials: "same-origin", headers: headers})
        .then(function (response) { return response.status === 200 ? response.json() : null; })
        .then(function (answer) { if (answer) { show(answer); } })
        .catch(function () { /* the next tick tries again */ });
    }, options.liveSeconds * 1000);
  }
}

/* The web app marks each unit with its options; an Open edX block calls CaseLabUnitBlock instead. */
document.addEventListener("DOMContentLoaded", function () {
  Array.prototype.forEach.call(document.querySelectorAll("[data-unit-root][data-state-url]"), function (root) {
    CaseLabUnitPlayer(root, {stateUrl: root.getAttribute("data-state-url"),
                             liveSeconds: Number(root.getAttribute("data-live-seconds")) || 0,
                             csrf: root.getAttribute("data-csrf"), version: root.getAttribute("data-version"),
                             offline: root.getAttribute("data-offline")});
  });
});

function CaseLabUnitBlock(runtime, element, args) {
  var node = element.jquery ? element[0] : element;
  // the LMS (Django) checks the token of its csrftoken cookie on every handler call
  var cookie = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  CaseLabUnitPlayer(node.querySelector("[data-unit-root]"),
                    {stateUrl: runtime.handlerUrl(node, "state"), liveSeconds: args.liveSeconds,
                     csrf: cookie ? decodeURIComponent(cookie[1]) : "", version: args.version, offline: args.offline});
}
