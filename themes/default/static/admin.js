// Admin behaviour that Flask-Admin would do with inline handlers (forbidden by our CSP).
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
