// Flask-Admin's list scripts call Bootstrap 4's jQuery plugins ($(...).tooltip({...})) while the
// page is still being parsed; Bootstrap 5 registers its jQuery plugins only at DOMContentLoaded.
// Loaded right after Bootstrap 5, this registers them at once (Bootstrap replaces them later
// with its own, which behave the same).
(function ($, bootstrap) {
  if (!$ || !bootstrap) { return; }
  ["Tooltip", "Popover", "Modal", "Dropdown", "Collapse", "Alert", "Tab"].forEach(function (name) {
    var key = name.toLowerCase();
    if ($.fn[key]) { return; }
    $.fn[key] = function (config) {
      return this.each(function () {
        var instance = bootstrap[name].getOrCreateInstance(this, typeof config === "object" ? config : {});
        if (typeof config === "string" && typeof instance[config] === "function") { instance[config](); }
      });
    };
  });
})(window.jQuery, window.bootstrap);
