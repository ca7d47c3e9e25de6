/* "Quay lại" on the error page: back to the page the person came from, when there is one; without script
   (or history) the link opens the home page. Replaces an inline javascript: URL the CSP would block. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-back]");
    if (link && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });
})();
