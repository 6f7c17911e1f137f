// Server pages: copy buttons (the server's address). Loaded with htmx, which keeps the
// Overview's status card current (hx-get ... every 3s, until the server settled).
(function () {
  "use strict";

  function copied(button) {
    var label = button.getAttribute("data-copied") || "Copied";
    var before = button.innerHTML;
    button.textContent = label;
    button.setAttribute("aria-live", "polite");
    setTimeout(function () { button.innerHTML = before; }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button); });
      return;
    }
    var range = document.createRange();  // without the clipboard API: select it for Ctrl+C
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    copied(button);
  });
})();
