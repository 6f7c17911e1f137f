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

// The overview's revenue chart: data comes from the canvas's data-source URL (JSON).
document.addEventListener("DOMContentLoaded", function () {
  var canvas = document.getElementById("revenue-chart");
  if (!canvas || !window.Chart) { return; }
  fetch(canvas.getAttribute("data-source"), {credentials: "same-origin"})
    .then(function (response) { return response.json(); })
    .then(function (data) {
      new window.Chart(canvas, {
        type: "bar",
        data: {labels: data.labels, datasets: [{label: "Revenue (" + data.currency + ")",
               data: data.values.map(function (v) { return v / data.scale; }), backgroundColor: "#3b5bdb"}]},
        options: {plugins: {legend: {display: false}}, scales: {y: {beginAtZero: true}}}
      });
    });
});
