/* Side-by-side similarity view. Each column scrolls on its own: on load both show their first shared
   passage; a click on a numbered passage brings the same passage into view in the other column and
   briefly highlights both. */
(function () {
  "use strict";
  var columns = document.querySelectorAll(".sim-text[data-side]");
  if (columns.length !== 2) return;

  function scrollTo(mark) {
    var column = mark.closest(".sim-text");
    column.scrollTop += mark.getBoundingClientRect().top - column.getBoundingClientRect().top - 16;
  }

  function flash(mark) {
    mark.classList.add("sim-current");
    setTimeout(function () { mark.classList.remove("sim-current"); }, 1500);
  }

  columns.forEach(function (column) {
    var first = column.querySelector("mark[data-passage]");
    if (first) scrollTo(first);
    column.addEventListener("click", function (event) {
      var mark = event.target.closest("mark[data-passage]");
      if (!mark) return;
      var side = column.dataset.side === "a" ? "b" : "a";
      var other = document.getElementById("p-" + side + "-" + mark.dataset.passage);
      if (!other) return;
      scrollTo(other);
      flash(mark);
      flash(other);
    });
  });
})();
