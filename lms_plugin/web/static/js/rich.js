/* A small formatting toolbar for textareas marked data-rich: wraps the selection in the few
   tags the sanitiser keeps. Without scripts the textarea accepts the same tags typed by hand. */
(function () {
  "use strict";
  var template = document.getElementById("rich-toolbar");

  function wrap(area, before, after) {
    var start = area.selectionStart, end = area.selectionEnd;
    var text = area.value.slice(start, end);
    area.setRangeText(before + text + after, start, end, "end");
    area.focus();
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function act(area, kind, linkPrompt) {
    if (kind === "link") {
      var url = window.prompt(linkPrompt, "https://");
      if (url && /^(https?:\/\/|mailto:)/i.test(url)) wrap(area, '<a href="' + url.replace(/"/g, "%22") + '">', "</a>");
      return;
    }
    wrap(area, "<" + kind + ">", "</" + kind + ">");
  }

  function attach(scope) {
    if (!template) return;
    (scope || document).querySelectorAll("textarea[data-rich]").forEach(function (area) {
      if (area.dataset.richReady || area.disabled) return;
      area.dataset.richReady = "1";
      var bar = template.content.firstElementChild.cloneNode(true);
      bar.addEventListener("click", function (ev) {
        var button = ev.target.closest("button[data-wrap]");
        if (!button) return;
        ev.preventDefault();
        act(area, button.dataset.wrap, bar.dataset.linkPrompt);
      });
      area.parentNode.insertBefore(bar, area);
    });
  }

  window.CaseLabRich = { attach: attach };
  attach(document);
})();
