// Live nest/egg/location/node pickers for the store's product form (pterodactyl provisioner).
// Reads the admin JSON endpoints (/admin/pterodactyl/api/...) and writes ids into the form's
// settings fields; the form stays usable by hand when the panel cannot be reached.
(function () {
  "use strict";
  var box = document.getElementById("ptero-picker");
  if (!box) return;
  var api = box.getAttribute("data-api");
  var status = document.getElementById("ptero-picker-status");
  var field = function (key) { return document.getElementById("ps_" + key) || document.querySelector('[name="ps_' + key + '"]'); };
  var nest = document.getElementById("ptero-pick-nest");
  var egg = document.getElementById("ptero-pick-egg");
  var locations = document.getElementById("ptero-pick-locations");
  var nodes = document.getElementById("ptero-pick-nodes");
  var variables = document.getElementById("ptero-pick-variables");
  box.hidden = false;

  function get(path) {
    return fetch(api + path, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (body) { if (!body.ok) { throw new Error(body.error || "the panel refused"); } return body.items; });
  }
  function fill(select, items, label, chosen, blank) {
    select.textContent = "";
    if (blank) { select.appendChild(new Option(blank, "")); }
    items.forEach(function (item) {
      var option = new Option(label(item) + " (#" + item.id + ")", String(item.id));
      option.selected = chosen.indexOf(String(item.id)) !== -1;
      select.appendChild(option);
    });
  }
  function ids(text) { return String(text || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean); }
  function chosen(select) { return Array.prototype.filter.call(select.options, function (o) { return o.selected && o.value; }).map(function (o) { return o.value; }); }
  function failed(error) { status.textContent = "the panel could not be asked: " + error.message + " (type the ids below)"; }

  function loadEgg() {
    variables.textContent = "";
    if (!nest.value || !egg.value) return;
    field("nest_id").value = nest.value;
    field("egg_id").value = egg.value;
    get("/nests/" + nest.value + "/eggs/" + egg.value).then(function (detail) {
      var list = document.createElement("ul");
      list.className = "mb-1";
      detail.variables.forEach(function (v) {
        var li = document.createElement("li");
        li.textContent = v.env_variable + " = " + (v.default_value || "\u2205") + "  [" + (v.rules || "") + "]" +
          (v.user_editable ? "  (customers may edit)" : v.user_viewable ? "  (customers see it)" : "  (hidden)");
        list.appendChild(li);
      });
      variables.textContent = "Egg variables:";
      variables.appendChild(list);
      var text = field("variables");
      if (text && !text.value.trim()) {
        text.value = detail.variables.map(function (v) {
          return v.env_variable + (v.user_editable ? " | visible, editable" : v.user_viewable ? " | visible" : "");
        }).join("\n");
      }
    }).catch(failed);
  }
  function loadEggs(keep) {
    egg.textContent = "";
    if (!nest.value) return Promise.resolve();
    return get("/nests/" + nest.value + "/eggs").then(function (items) {
      fill(egg, items, function (e) { return e.name; }, keep ? [String(field("egg_id").value)] : [], "choose an egg");
      if (keep && egg.value) loadEgg();
    }).catch(failed);
  }

  Promise.all([get("/nests"), get("/locations"), get("/nodes")]).then(function (found) {
    fill(nest, found[0], function (n) { return n.name; }, [String(field("nest_id").value)], "choose a nest");
    fill(locations, found[1], function (l) { return l.short + " - " + (l.long || ""); }, ids(field("location_ids").value));
    fill(nodes, found[2], function (n) { return n.name + (n.public ? "" : " (private)"); }, ids(field("node_ids").value));
    status.textContent = "live from the panel";
    return loadEggs(true);
  }).catch(failed);

  nest.addEventListener("change", function () { loadEggs(false); });
  egg.addEventListener("change", loadEgg);
  locations.addEventListener("change", function () { field("location_ids").value = chosen(locations).join(","); });
  nodes.addEventListener("change", function () { field("node_ids").value = chosen(nodes).join(","); });
}());
