// Admin behaviour that Flask-Admin would do with inline handlers (forbidden by our CSP).

// Flask-Admin's templates are written for Bootstrap 4 (data-toggle, data-dismiss, ...); the admin
// runs Bootstrap 5, which reads data-bs-*. Copy the attributes over, and give every table a
// scrolling wrapper so that nothing pushes the page sideways on a phone.
function ptBootstrap5(root) {
  ["toggle", "target", "dismiss", "placement", "content"].forEach(function (name) {
    root.querySelectorAll("[data-" + name + "]").forEach(function (el) {
      if (!el.hasAttribute("data-bs-" + name)) {
        el.setAttribute("data-bs-" + name, el.getAttribute("data-" + name));
      }
    });
  });
  root.querySelectorAll("table").forEach(function (table) {
    var parent = table.parentElement;
    if (parent && !parent.classList.contains("table-responsive")) {
      var wrapper = document.createElement("div");
      wrapper.className = "table-responsive";
      parent.insertBefore(wrapper, table);
      wrapper.appendChild(table);
    }
  });
}
document.addEventListener("DOMContentLoaded", function () { ptBootstrap5(document); });
document.addEventListener("submit", function (event) {
  var form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
}, true);

document.addEventListener("click", function (event) {
  var link = event.target.closest("[data-model-action]");
  if (link && window.modelActions) {
    event.preventDefault();
    window.modelActions.execute(link.getAttribute("data-model-action"));
  }
});

// The overview's money chart: the figures are in the page (#overview-data, computed by
// kernel.payments.reports), drawn with the vendored Chart.js.
document.addEventListener("DOMContentLoaded", function () {
  var canvas = document.getElementById("money-chart");
  var source = document.getElementById("overview-data");
  if (!canvas || !source || !window.Chart) { return; }
  var data = JSON.parse(source.textContent);
  var scaled = function (values) { return values.map(function (v) { return v / data.scale; }); };
  new window.Chart(canvas, {
    type: "bar",
    data: {labels: data.labels, datasets: [
      {label: "Top-ups", data: scaled(data.topups), backgroundColor: "#3b5bdb"},
      {label: "Wallet spending", data: scaled(data.spending), backgroundColor: "#e8590c"}]},
    options: {scales: {y: {beginAtZero: true}}}
  });
});
