/* The store's order calculator: keeps the totals of a form with data-quote-url current.
   Loaded with defer on the product and checkout pages (no inline script: the CSP forbids it). */
(function () {
  "use strict";

  function field(form, name) {
    return form.querySelector('[name="' + name + '"]');
  }

  function selectedPlan(form) {
    return form.querySelector('input[name="plan"]:checked');
  }

  function show(form, key, text) {
    var el = form.querySelector('[data-quote="' + key + '"]');
    if (el) { el.textContent = text; }
  }

  function syncSlots(form) {
    var plan = selectedPlan(form);
    var slots = field(form, "slots");
    if (!plan || !slots) { return; }
    var box = slots.closest(".store-slots");
    var isSlot = plan.dataset.kind === "slot";
    if (box) { box.hidden = !isSlot; }
    slots.min = plan.dataset.min;
    slots.max = plan.dataset.max;
  }

  function refresh(form) {
    var plan = selectedPlan(form);
    if (!plan) { return; }
    var slots = field(form, "slots");
    var voucher = field(form, "voucher");
    var body = {
      product: form.dataset.product,
      plan: plan.value,
      slots: slots && plan.dataset.kind === "slot" ? slots.value : plan.dataset.min,
      voucher: voucher ? voucher.value : ""
    };
    fetch(form.dataset.quoteUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": form.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json();
    }).then(function (data) {
      if (!data.ok) {
        show(form, "error", data.error || "");
        return;
      }
      show(form, "error", "");
      show(form, "price", data.price);
      show(form, "discount", data.discount ? "- " + data.discount : "-");
      show(form, "total", data.total);
    }).catch(function () {
      show(form, "error", "");
    });
  }

  function attach(form) {
    var timer = null;
    syncSlots(form);
    form.addEventListener("input", function () {
      syncSlots(form);
      clearTimeout(timer);
      timer = setTimeout(function () { refresh(form); }, 250);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-quote-url]").forEach(attach);
  });
})();
