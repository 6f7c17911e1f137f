// The payment return page while the provider has not confirmed yet: ask the server every few
// seconds, quietly, and show the new page only once the status changed. (A <meta refresh>
// reloaded the page every 2 s whatever the reader was doing: WCAG 2.2.1.) Gives up after
// five minutes; "Check again" stays.
(function () {
  var box = document.getElementById("payment-status");
  if (!box || !box.hasAttribute("data-poll") || !window.fetch || !window.DOMParser) { return; }
  var every = Math.max(1, parseInt(box.getAttribute("data-poll"), 10) || 2) * 1000;
  var deadline = Date.now() + 5 * 60 * 1000;
  function poll() {
    if (Date.now() > deadline) { return; }
    fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (response) { return response.text(); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("payment-status");
        if (fresh && fresh.getAttribute("data-status") !== box.getAttribute("data-status")) {
          window.location.reload();
        } else {
          window.setTimeout(poll, every);
        }
      })
      .catch(function () { window.setTimeout(poll, every); });
  }
  window.setTimeout(poll, every);
})();
