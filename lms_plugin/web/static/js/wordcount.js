/* Word count as lms_plugin.core.essays.count_words counts it: Vietnamese syllables separated by
   spaces, a number such as 10.405 or 3,5 is one word, punctuation is none. Keep the two in step
   (tests/web/test_cadre_wordcount.py runs both on the same samples). */
(function (root) {
  "use strict";
  var ZERO_WIDTH = /[\u200b\u200c\u200d\u2060\ufeff\u00ad]/g;
  // Python's \d is \p{Nd}; its [^\W\d_] is letters plus the non-decimal numerals (Nl, No).
  var WORD = /\p{Nd}+(?:[.,]\p{Nd}+)*|[\p{L}\p{Nl}\p{No}]+(?:\p{Nd}+)?|\p{Nd}+/gu;

  function countWords(text) {
    var found = String(text || "").normalize("NFC").replace(ZERO_WIDTH, "").match(WORD);
    return found ? found.length : 0;
  }

  var api = { countWords: countWords };
  if (typeof module !== "undefined" && module.exports) {
    module.exports = api;
  } else {
    root.CaseLab = Object.assign(root.CaseLab || {}, api);
  }
})(typeof self !== "undefined" ? self : this);
