/* The total on the rubric's scale as the examiner picks levels; the service computes it again on save
   (lms_plugin.core.rubrics.Rubric.score: weighted mean of each criterion's share of its best level). */
(function () {
  "use strict";
  var form = document.getElementById("grade-form");
  if (!form) return;
  var out = document.getElementById("grade-total");
  var scale = Number(form.dataset.scale) || 10;

  function total() {
    var sum = 0, weights = 0, complete = true;
    form.querySelectorAll("fieldset[data-criterion]").forEach(function (set) {
      var weight = Number(set.dataset.weight), best = Number(set.dataset.max);
      var picked = set.querySelector("input[type=radio]:checked");
      weights += weight;
      if (!picked) { complete = false; return; }
      sum += weight * Number(picked.value) / best;
    });
    if (!weights) return;
    var value = Number((scale * sum / weights).toFixed(2));
    out.textContent = String(value) + (complete ? "" : " …");
    out.dataset.complete = complete ? "1" : "0";
  }

  form.addEventListener("change", total);
  if (form.querySelector("input[type=radio]:checked")) total();
})();
