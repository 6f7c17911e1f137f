/* The console tab: live state and usage (polled), power buttons without a page load, and
   the xterm.js console over the Wings websocket, re-authenticated when the token expires.
   Everything degrades: without JavaScript the forms post; without a websocket the page
   says so and the rest keeps working. */
(function () {
  "use strict";
  var root = document.getElementById("ptero-console");
  if (!root) return;

  var labels = {};
  try { labels = JSON.parse(root.dataset.labels || "{}"); } catch (e) { labels = {}; }
  var stateBadge = document.getElementById("ptero-state");
  var stateMessage = document.getElementById("ptero-state-message");
  var note = document.getElementById("ptero-console-note");
  var socketStatus = document.getElementById("ptero-console-status");
  var csrf = root.dataset.csrf;
  var pollTimer = null;
  var fastPolls = 0;

  function mib(bytes) { return (bytes / 1048576).toFixed(1) + " MiB"; }
  function kib(bytes) { return (bytes / 1024).toFixed(1) + " KiB"; }

  // While the panel gates the server (installing, suspended, restoring...), the socket's
  // power states ("offline" during an install) do not replace that state on the badge.
  var GATED = { installing: 1, suspended: 1, restoring: 1, transferring: 1, maintenance: 1, unavailable: 1 };
  var gate = stateBadge && GATED[stateBadge.dataset.state] ? stateBadge.dataset.state : "";

  function setGate(state) {
    gate = GATED[state] ? state : "";
    root.querySelectorAll("form.ptero-power-form button").forEach(function (b) { b.disabled = !!gate; });
  }

  function setPowerState(state) {
    if (!gate) setState(state);
  }

  function setState(state) {
    if (!stateBadge || !state) return;
    stateBadge.dataset.state = state;
    stateBadge.className = stateBadge.className.replace(/\bstate-[a-z_]+/g, "").trim() + " state-" + state;
    stateBadge.textContent = labels[state] || state;
  }

  function showMessage(text) {
    if (!stateMessage) return;
    stateMessage.textContent = text || "";
    stateMessage.classList.toggle("d-none", !text);
  }

  function showNote(text) {
    if (!note) return;
    note.textContent = text || "";
    note.classList.toggle("d-none", !text);
  }

  function setUsage(name, text) {
    var el = root.querySelector('[data-usage="' + name + '"]');
    if (el) el.textContent = text;
  }

  var limits = { cpu_limit: 0, memory_limit_bytes: 0, disk_limit_bytes: 0 };

  function applyStats(s) {
    Object.keys(limits).forEach(function (k) { if (s[k]) limits[k] = s[k]; else s[k] = limits[k]; });
    setUsage("cpu", (s.cpu_absolute || 0).toFixed(1) + "%" + (s.cpu_limit ? " / " + s.cpu_limit + "%" : ""));
    setUsage("memory", mib(s.memory_bytes || 0) + (s.memory_limit_bytes ? " / " + Math.round(s.memory_limit_bytes / 1048576) + " MiB" : ""));
    setUsage("disk", mib(s.disk_bytes || 0) + (s.disk_limit_bytes ? " / " + Math.round(s.disk_limit_bytes / 1048576) + " MiB" : ""));
    setUsage("network", kib(s.network_rx_bytes || 0) + " / " + kib(s.network_tx_bytes || 0));
  }

  function poll() {
    fetch(root.dataset.statusUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        setGate(s.ok ? "" : s.state);
        setState(s.state);
        if (s.ok) { showMessage(""); applyStats(s); } else { showMessage(s.message || s.error || ""); }
      })
      .catch(function () { /* keep the last figures; the next poll retries */ })
      .then(schedulePoll);
  }

  var BUSY = { installing: 1, starting: 1, stopping: 1, restoring: 1, transferring: 1 };

  function schedulePoll() {
    clearTimeout(pollTimer);
    var current = stateBadge ? stateBadge.dataset.state : "";
    var delay = (fastPolls > 0 || BUSY[current]) ? 1000 : 5000;
    if (fastPolls > 0) fastPolls -= 1;
    pollTimer = setTimeout(poll, delay);
  }

  // --- power buttons -----------------------------------------------------------------
  root.querySelectorAll("form.ptero-power-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      if (button) button.disabled = true;
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": csrf }
      }).then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          showMessage(res.ok ? "" : (res.body.error || ""));
          if (res.ok && res.body.message) writeLine("\x1b[36m" + res.body.message + "\x1b[0m");
        })
        .catch(function () { showMessage(root.dataset.msgLost); })
        .then(function () {
          if (button) {
            button.disabled = false;
            // A disabled button loses focus to <body>: give it back, so a keyboard user
            // carries on from where they were (WCAG 2.4.3).
            if (document.activeElement === document.body || document.activeElement === null) button.focus();
          }
          fastPolls = 10;
          poll();
        });
    });
  });

  // --- the live console --------------------------------------------------------------
  var term = null;
  var socket = null;
  var retries = 0;
  var authed = false;

  function writeLine(text) {
    if (term) term.writeln(text);
  }

  function setSocketStatus(text) { if (socketStatus) socketStatus.textContent = text || ""; }

  function credentials() {
    return fetch(root.dataset.credentialsUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (body) { if (!r.ok || !body.ok) throw new Error(body.error || "no credentials"); return body; }); });
  }

  function authenticate() {
    return credentials().then(function (c) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ event: "auth", args: [c.token] }));
      return c;
    });
  }

  function connect() {
    setSocketStatus(root.dataset.msgConnecting);
    credentials().then(function (c) {
      var ws;
      try { ws = new WebSocket(c.socket); } catch (e) { failed(); return; }
      socket = ws;
      authed = false;
      ws.onopen = function () { ws.send(JSON.stringify({ event: "auth", args: [c.token] })); };
      ws.onmessage = function (msg) {
        var data;
        try { data = JSON.parse(msg.data); } catch (e) { return; }
        var args = data.args || [];
        switch (data.event) {
          case "auth success":
            authed = true; retries = 0; showNote(""); setSocketStatus(root.dataset.msgConnected);
            ws.send(JSON.stringify({ event: "send logs", args: [null] }));
            break;
          case "console output": case "install output": case "daemon message":
            writeLine(String(args[0] || "")); break;
          case "daemon error":
            writeLine("\x1b[31m" + String(args[0] || "") + "\x1b[0m"); break;
          case "status":
            setPowerState(String(args[0] || "")); break;
          case "stats":
            try {
              var s = JSON.parse(args[0]);
              applyStats({ cpu_absolute: s.cpu_absolute, memory_bytes: s.memory_bytes,
                memory_limit_bytes: s.memory_limit_bytes, disk_bytes: s.disk_bytes,
                network_rx_bytes: (s.network || {}).rx_bytes, network_tx_bytes: (s.network || {}).tx_bytes });
            } catch (e) { /* ignore a malformed frame */ }
            break;
          case "install started": case "install completed": case "backup restore completed":
            fastPolls = 10; poll(); break;
          case "token expiring": case "token expired":
            authenticate().catch(function (err) { showNote(err.message); });
            break;
          case "jwt error":
            showNote(root.dataset.msgDenied + " " + String(args[0] || ""));
            break;
          default: break;
        }
      };
      ws.onerror = function () { /* onclose follows and decides */ };
      ws.onclose = function () { if (socket === ws) socket = null; authed = false; failed(); };
    }).catch(function (err) { showNote(err.message); setSocketStatus(""); });
  }

  function failed() {
    retries += 1;
    setSocketStatus("");
    if (retries > 5) { showNote(root.dataset.msgGaveUp); return; }
    showNote(root.dataset.msgLost);
    setTimeout(connect, Math.min(30000, 2000 * retries));
  }

  var box = document.getElementById("ptero-terminal");
  if (root.dataset.live === "1" && box && window.Terminal) {
    term = new window.Terminal({ convertEol: true, disableStdin: true, fontSize: 13, scrollback: 2000,
      fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", theme: { background: "#111111" } });
    if (window.FitAddon && window.FitAddon.FitAddon) {
      var fit = new window.FitAddon.FitAddon();
      term.loadAddon(fit);
      term.open(box);
      try { fit.fit(); } catch (e) { /* hidden container */ }
      window.addEventListener("resize", function () { try { fit.fit(); } catch (e) { /* ignore */ } });
    } else {
      term.open(box);
    }
    // Not a keyboard trap (WCAG 2.1.2): xterm's hidden textarea keeps every key, so Tab and
    // Shift+Tab go back to the browser, and Escape jumps to the command line (or out).
    term.attachCustomKeyEventHandler(function (event) {
      if (event.key === "Tab") return false;  // the browser moves the focus
      if (event.key === "Escape" && event.type === "keydown") {
        var next = document.getElementById("ptero-command-input") || root.querySelector("button");
        if (next) next.focus();
        return false;
      }
      return true;
    });
    connect();
  }

  // --- commands: over the socket when connected, else posted ---------------------------
  var commandForm = document.getElementById("ptero-command");
  if (commandForm) {
    commandForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = document.getElementById("ptero-command-input");
      var text = (input.value || "").trim();
      if (!text) return;
      if (socket && authed && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ event: "send command", args: [text] }));
        input.value = "";
        return;
      }
      fetch(commandForm.action, {
        method: "POST", body: new FormData(commandForm), credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": csrf }
      }).then(function (r) { return r.json(); })
        .then(function (body) { showMessage(body.ok ? "" : (body.error || "")); if (body.ok) input.value = ""; })
        .catch(function () { showMessage(root.dataset.msgLost); });
    });
  }

  setGate(gate);
  schedulePoll();
})();
