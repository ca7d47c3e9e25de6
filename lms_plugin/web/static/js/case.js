/* The case player without page reloads: send the choice, then swap in the updated player. */
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest('form[data-enhance="case"]');
    if (!form || !window.fetch || !window.DOMParser) return;
    ev.preventDefault();
    var data = new FormData(form);
    if (ev.submitter && ev.submitter.name) data.append(ev.submitter.name, ev.submitter.value);
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (html) { return { response: response, html: html }; });
      })
      .then(function (got) {
        var fresh = new DOMParser().parseFromString(got.html, "text/html").getElementById("case-player");
        if (!got.response.ok || !fresh) {       // an error page: show it as a normal navigation would
          document.open(); document.write(got.html); document.close();
          return;
        }
        document.getElementById("case-player").replaceWith(fresh);
        history.replaceState(null, "", got.response.url);
        var feedback = document.getElementById("feedback");
        if (feedback) { feedback.focus({ preventScroll: true }); feedback.scrollIntoView({ block: "start" }); }
      })
      .catch(function () { form.querySelectorAll("button").forEach(function (b) { b.disabled = false; }); });
  });
})();
