// healthmon console: a small client of the JSON API. It signs in with POST /api/v1/auth/login and
// keeps the bearer token for this tab only (sessionStorage: gone when the tab closes, never sent
// by the browser on its own, so no other site can make requests with it). Every page is built
// with DOM calls and textContent, never from HTML strings, so nothing a target's name or an error
// says can become markup. What a user may do is decided by the API; a viewer is shown no control
// that changes anything.
"use strict";

(function () {
  const app = document.getElementById("app");
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  const KEY = "healthmon.session";
  let session = null;
  try {
    session = JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch (error) {
    session = null;
  }
  let follower = null;

  // ---- DOM helpers ------------------------------------------------------------------------

  function el(tag, attributes, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
      else if (name === "class") element.className = value;
      else if (value === true) element.setAttribute(name, "");
      else element.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      element.append(child instanceof Node ? child : String(child));
    }
    return element;
  }

  function svg(tag, attributes) {
    const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
    return element;
  }

  /// The newest status each health event told, so that a page rendered from a read that raced an
  /// event (the event arriving while the page was loading) still shows it.
  const lastSeen = new Map();

  function show(...children) {
    app.replaceChildren(...children.flat());
    for (const holder of app.querySelectorAll("[data-target]")) {
      const seen = lastSeen.get(holder.getAttribute("data-target"));
      // Only a change newer than the one the page was read with (a paused target keeps the
      // `since` of its last change, so an older event cannot undo the pause).
      const since = holder.getAttribute("data-since");
      if (seen && (!since || Date.parse(seen.at) > Date.parse(since))) markStatus(holder, seen.to);
    }
  }

  function markStatus(holder, status) {
    const badge = holder.querySelector("[data-status]");
    if (badge && badge.textContent !== status) badge.replaceWith(statusBadge(status));
  }

  function statusBadge(status) {
    return el("span", { class: "status status-" + status, "data-status": true }, status);
  }

  function percent(uptime) {
    if (uptime === null || uptime === undefined) return "–";
    const value = uptime * 100;
    if (value >= 100) return "100%";
    return (value >= 99 ? Math.floor(value * 100) / 100 : Math.floor(value * 10) / 10) + "%";
  }

  function when(text) {
    return text ? text.replace("T", " ").slice(0, 19) + " UTC" : "–";
  }

  function isAdmin() {
    return session && session.role === "admin";
  }

  // ---- the API ----------------------------------------------------------------------------

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (session) headers.Authorization = "Bearer " + session.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (error) {
      data = null;
    }
    if (response.status === 401 && session && path !== "/api/v1/auth/login") {
      forget();
      render();
    }
    return { status: response.status, ok: response.ok, data };
  }

  /// The API's error as one line, for problems no field is named for.
  function problem(result) {
    const error = result.data && result.data.error;
    return error ? error.message : "the request failed (" + result.status + ")";
  }

  /// Puts each field's error next to it (elements marked data-error-for), and the rest in the
  /// form's general error line. A field such as `headers.X-Key` shows beside `headers`.
  function showErrors(form, result) {
    for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
    const error = (result.data && result.data.error) || {};
    const fields = (error.details && error.details.fields) || {};
    const general = form.querySelector("[data-error-for='form']");
    const unplaced = [];
    for (const [field, message] of Object.entries(fields)) {
      const slot =
        form.querySelector("[data-error-for='" + CSS.escape(field) + "']") ||
        form.querySelector("[data-error-for='" + CSS.escape(field.split(".")[0]) + "']");
      if (slot && slot !== general) slot.textContent = message;
      else unplaced.push(field + ": " + message);
    }
    if (general) {
      general.textContent = unplaced.length ? unplaced.join("; ") : Object.keys(fields).length ? "" : problem(result);
    }
  }

  // ---- session ----------------------------------------------------------------------------

  function remember(next) {
    session = next;
    sessionStorage.setItem(KEY, JSON.stringify(next));
  }

  function forget() {
    session = null;
    sessionStorage.removeItem(KEY);
    if (follower) follower.abort();
    follower = null;
  }

  function loginView() {
    nav.replaceChildren();
    who.replaceChildren();
    const form = el(
      "form",
      { class: "card narrow", id: "login" },
      el("h1", {}, "Sign in"),
      field("Username", "username", el("input", { name: "username", id: "username", autocomplete: "username", required: true })),
      field(
        "Password",
        "password",
        el("input", { name: "password", id: "password", type: "password", autocomplete: "current-password", required: true }),
      ),
      el("p", { class: "error", "data-error-for": "form", role: "alert" }),
      el("button", { type: "submit" }, "Sign in"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const username = form.elements.username.value;
      const result = await api("POST", "/api/v1/auth/login", { username, password: form.elements.password.value });
      if (!result.ok) return showErrors(form, result);
      remember({ token: result.data.token, role: result.data.role, username });
      location.hash = "#/targets";
      render();
    });
    show(form);
  }

  async function signOut() {
    await api("POST", "/api/v1/auth/logout");
    forget();
    location.hash = "";
    render();
  }

  // ---- live status ------------------------------------------------------------------------

  /// Follows /api/v1/events with the token (EventSource cannot send one, so fetch reads the
  /// stream) and applies each health change to whatever the page shows of that target.
  async function follow() {
    if (follower || !session) return;
    follower = new AbortController();
    const signal = follower.signal;
    try {
      const response = await fetch("/api/v1/events", {
        headers: { Authorization: "Bearer " + session.token },
        signal,
      });
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame
            .split("\n")
            .filter((line) => line.startsWith("data:"))
            .map((line) => line.slice(5).trim())
            .join("");
          if (data) applyChange(JSON.parse(data).data);
        }
      }
    } catch (error) {
      // A dropped stream is followed again below.
    }
    follower = null;
    if (session && !signal.aborted) setTimeout(follow, 2000);
  }

  function applyChange(change) {
    if (!change || !change.target_id) return;
    lastSeen.set(change.target_id, { to: change.to, at: change.at });
    for (const holder of document.querySelectorAll("[data-target]")) {
      if (holder.getAttribute("data-target") === change.target_id) markStatus(holder, change.to);
    }
  }

  // ---- forms ------------------------------------------------------------------------------

  function field(label, name, input, hint) {
    if (!input.id) input.id = "field-" + name;
    return el(
      "div",
      { class: "field", "data-field": name },
      el("label", { for: input.id }, label),
      input,
      hint ? el("small", {}, hint) : null,
      el("span", { class: "error", "data-error-for": name, role: "alert" }),
    );
  }

  function input(name, value, attributes) {
    return el("input", Object.assign({ name, value: value === undefined || value === null ? "" : value }, attributes || {}));
  }

  function checkbox(name, checked) {
    return el("input", { name, type: "checkbox", checked: !!checked });
  }

  /// A choice of `options`; an empty option reads as `anyLabel` (a filter that narrows nothing).
  function select(name, options, chosen, anyLabel) {
    return el(
      "select",
      { name, "aria-label": name },
      options.map((option) => el("option", { value: option, selected: option === chosen }, option || anyLabel || "")),
    );
  }

  /// A write-only secret: empty when none is stored; with one stored, "set" and a button that
  /// opens an empty field to replace it (leaving it closed keeps the stored one).
  function secret(label, name, isSet, multiline) {
    const make = () =>
      multiline ? el("textarea", { name, rows: 4, autocomplete: "off" }) : input(name, "", { type: "password", autocomplete: "new-password" });
    if (!isSet) return field(label, name, make(), "write-only: never shown again");
    const holder = field(label, name, el("span", { class: "set" }, "set"));
    const replace = el("button", { type: "button", class: "link", "data-replace": name }, "Replace");
    replace.addEventListener("click", () => {
      const fresh = make();
      fresh.id = "field-" + name;
      holder.querySelector(".set").replaceWith(fresh);
      replace.remove();
      fresh.focus();
    });
    holder.insertBefore(replace, holder.querySelector("[data-error-for]"));
    return holder;
  }

  function numberOrNothing(value) {
    return value.trim() === "" ? undefined : Number(value);
  }

  // ---- targets ----------------------------------------------------------------------------

  async function targetsView(query) {
    const filters = el(
      "form",
      { class: "filters", id: "filters" },
      input("q", query.get("q"), { placeholder: "Search by name", "aria-label": "Search by name" }),
      select("status", ["", "healthy", "unhealthy", "unknown", "stale", "paused"], query.get("status") || "", "any status"),
      select("kind", ["", "http", "ssh", "tcp"], query.get("kind") || "", "any kind"),
      input("tag", query.get("tag"), { placeholder: "Tag", "aria-label": "Tag" }),
      el("button", { type: "submit" }, "Filter"),
    );
    filters.addEventListener("submit", (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      for (const name of ["q", "status", "kind", "tag"]) {
        const value = filters.elements[name].value.trim();
        if (value) next.set(name, value);
      }
      location.hash = "#/targets?" + next.toString();
    });
    const params = new URLSearchParams(query);
    params.set("limit", "1000");
    const result = await api("GET", "/api/v1/targets?" + params.toString());
    if (!result.ok) return show(el("p", { class: "error" }, problem(result)));
    const rows = result.data.items.map((target) =>
      el(
        "tr",
        { "data-target": target.id, "data-since": target.health.since },
        el("td", {}, el("a", { href: "#/targets/" + target.id }, target.name)),
        el("td", {}, target.kind),
        el("td", {}, statusBadge(target.health.status)),
        el("td", {}, target.group || ""),
        el("td", {}, target.tags.join(", ")),
      ),
    );
    show(
      el("div", { class: "heading" }, el("h1", {}, "Targets"), isAdmin() ? el("a", { class: "button", href: "#/targets/new", id: "new-target" }, "New target") : null),
      filters,
      rows.length
        ? el("div", { class: "scroll" }, el("table", {}, el("thead", {}, el("tr", {}, ["Name", "Kind", "Status", "Group", "Tags"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)))
        : el("p", { class: "empty" }, "No targets match."),
    );
  }

  async function targetView(id) {
    const result = await api("GET", "/api/v1/targets/" + id);
    if (!result.ok) return show(el("p", { class: "error" }, problem(result)));
    const target = result.data;
    const [day, week, month, series, transitions] = await Promise.all([
      api("GET", "/api/v1/targets/" + id + "/uptime?window=24h"),
      api("GET", "/api/v1/targets/" + id + "/uptime?window=7d"),
      api("GET", "/api/v1/targets/" + id + "/uptime?window=30d"),
      api("GET", "/api/v1/targets/" + id + "/series?window=24h&step_s=3600"),
      api("GET", "/api/v1/targets/" + id + "/transitions?limit=20"),
    ]);
    const actions = isAdmin()
      ? el(
          "div",
          { class: "actions" },
          el("a", { class: "button", href: "#/targets/" + id + "/edit", id: "edit" }, "Edit"),
          el("button", { type: "button", id: "pause", onclick: () => setEnabled(target, !target.enabled) }, target.enabled ? "Pause" : "Resume"),
          el("button", { type: "button", id: "delete", class: "danger", onclick: () => remove(target) }, "Delete"),
          el("p", { class: "error", "data-error-for": "form", role: "alert" }),
        )
      : null;
    const uptime = (label, answer) => el("div", {}, el("dt", {}, label), el("dd", {}, answer.ok ? percent(answer.data.uptime) : "–"));
    const samples = (target.recent_samples || []).map((sample) =>
      el("tr", {}, el("td", {}, when(sample.at)), el("td", {}, sample.success ? "ok" : "failed"), el("td", {}, Math.round(sample.latency_ms) + " ms"), el("td", {}, sample.error || "")),
    );
    const changes = transitions.ok
      ? transitions.data.items.map((t) => el("li", {}, when(t.at), " ", statusBadgePlain(t.from), " → ", statusBadgePlain(t.to), " ", el("span", { class: "muted" }, t.reason)))
      : [];
    show(
      el(
        "section",
        { "data-target": id, "data-since": target.health.since },
        el("div", { class: "heading" }, el("h1", {}, target.name), statusBadge(target.health.status)),
        el("p", { class: "muted" }, target.kind + " · every " + target.interval_s + " s" + (target.group ? " · group " + target.group : "") + (target.public ? " · public" : "") + (target.health.reason ? " · " + target.health.reason : "")),
        actions,
        el("dl", { class: "uptime" }, uptime("24 h", day), uptime("7 d", week), uptime("30 d", month)),
        el("h2", {}, "Response time, 24 h"),
        series.ok ? chart(series.data.items) : el("p", { class: "muted" }, "No series."),
        el("h2", {}, "Newest samples"),
        samples.length ? el("table", {}, el("tbody", {}, samples)) : el("p", { class: "muted" }, "No samples yet."),
        el("h2", {}, "Transitions"),
        changes.length ? el("ol", { class: "changes" }, changes) : el("p", { class: "muted" }, "No transitions yet."),
      ),
    );
  }

  function statusBadgePlain(status) {
    return el("span", { class: "status status-" + status }, status);
  }

  function chart(items) {
    const points = items.filter((item) => item.samples > 0 && item.latency_ms && item.latency_ms.mean !== null);
    if (!points.length) return el("p", { class: "muted" }, "No response times in the last 24 hours.");
    const peak = Math.max(1, ...points.map((p) => p.latency_ms.mean));
    const first = Date.parse(points[0].start);
    const span = Math.max(1, Date.parse(points[points.length - 1].start) - first);
    const y = (p) => 58 - (p.latency_ms.mean / peak) * 54;
    // One hour so far is drawn as a level line across the chart.
    const line =
      points.length === 1
        ? "0," + y(points[0]) + " 300," + y(points[0])
        : points.map((p) => ((Date.parse(p.start) - first) / span) * 300 + "," + y(p)).join(" ");
    const drawing = svg("svg", { viewBox: "0 0 300 60", preserveAspectRatio: "none", class: "chart", role: "img", "aria-label": "mean response time per hour, peak " + Math.round(peak) + " ms" });
    drawing.append(svg("polyline", { points: line, fill: "none", stroke: "currentColor", "stroke-width": 1.5, "vector-effect": "non-scaling-stroke" }));
    return el("figure", {}, drawing, el("figcaption", { class: "muted" }, "peak " + Math.round(peak) + " ms"));
  }

  async function setEnabled(target, enabled) {
    const result = await api("PATCH", "/api/v1/targets/" + target.id, { enabled });
    if (!result.ok) return showErrors(app, result);
    targetView(target.id);
  }

  async function remove(target) {
    if (!confirm("Delete " + target.name + " and its history?")) return;
    const result = await api("DELETE", "/api/v1/targets/" + target.id);
    if (!result.ok) return showErrors(app, result);
    location.hash = "#/targets";
  }

  async function targetForm(id) {
    let target = null;
    if (id) {
      const result = await api("GET", "/api/v1/targets/" + id);
      if (!result.ok) return show(el("p", { class: "error" }, problem(result)));
      target = result.data;
    }
    const t = target || { kind: "http", enabled: true, tags: [], public: false };
    const headers = Object.entries(t.headers || {}).map(([name, value]) => name + ": " + value).join("\n");
    const kinds = {
      http: el(
        "fieldset",
        { "data-kind": "http" },
        el("legend", {}, "HTTP"),
        field("URL", "url", input("url", t.url, { placeholder: "https://example.com/health" })),
        field("Method", "method", select("method", ["GET", "HEAD"], t.method || "GET")),
        field("Expected status", "expected_status", input("expected_status", t.expected_status || "2xx")),
        field("Headers", "headers", el("textarea", { name: "headers", rows: 3, placeholder: "Name: value, one a line" }, headers)),
        field("Body contains", "body_contains", input("body_contains", t.body_contains)),
        field("Keep the connection open", "keepalive", checkbox("keepalive", t.keepalive)),
      ),
      ssh: el(
        "fieldset",
        { "data-kind": "ssh" },
        el("legend", {}, "SSH"),
        field("Host", "host", input("host", t.host)),
        field("Port", "port", input("port", t.port, { inputmode: "numeric" })),
        field("Username", "username", input("username", t.username)),
        secret("Password", "password", t.has_password, false),
        secret("Private key", "private_key", t.has_private_key, true),
        secret("Private key passphrase", "private_key_passphrase", false, false),
        field("Command", "command", input("command", t.command), "default: the free-disk check"),
        field("Output must match", "expect_output", input("expect_output", t.expect_output)),
        field("Minimum free disk (MB)", "min_free_disk_mb", input("min_free_disk_mb", t.min_free_disk_mb, { inputmode: "numeric" })),
        field("Host key (SHA256)", "host_key_sha256", input("host_key_sha256", t.host_key_sha256)),
        field("Trust the first key seen", "trust_on_first_use", checkbox("trust_on_first_use", t.trust_on_first_use)),
        field("Shell", "shell", select("shell", ["sh", "powershell"], t.shell || "sh")),
      ),
      tcp: el(
        "fieldset",
        { "data-kind": "tcp" },
        el("legend", {}, "TCP"),
        field("Host", "host", input("host", t.host)),
        field("Port", "port", input("port", t.port, { inputmode: "numeric" })),
      ),
    };
    const kind = select("kind", ["http", "ssh", "tcp"], t.kind);
    kind.disabled = !!target;
    const form = el(
      "form",
      { class: "card", id: "target-form" },
      el("h1", {}, target ? "Edit " + target.name : "New target"),
      field("Name", "name", input("name", t.name, { required: true })),
      field("Kind", "kind", kind),
      Object.values(kinds),
      el(
        "fieldset",
        {},
        el("legend", {}, "Schedule and health"),
        field("Interval (s)", "interval_s", input("interval_s", t.interval_s, { inputmode: "numeric", placeholder: "60" })),
        field("Timeout (s)", "timeout_s", input("timeout_s", t.timeout_s, { inputmode: "numeric", placeholder: "60" })),
        field("Healthy after", "healthy_threshold", input("healthy_threshold", t.healthy_threshold, { inputmode: "numeric", placeholder: "5" })),
        field("Unhealthy after", "unhealthy_threshold", input("unhealthy_threshold", t.unhealthy_threshold, { inputmode: "numeric", placeholder: "3" })),
        field("Enabled", "enabled", checkbox("enabled", t.enabled)),
      ),
      el(
        "fieldset",
        {},
        el("legend", {}, "Grouping"),
        field("Tags", "tags", input("tags", (t.tags || []).join(", ")), "comma-separated"),
        field("Group", "group", input("group", t.group)),
        field("On the public status page", "public", checkbox("public", t.public)),
      ),
      el("p", { class: "error", "data-error-for": "form", role: "alert" }),
      el("button", { type: "submit", id: "save" }, target ? "Save" : "Create"),
    );
    const showKind = () => {
      for (const [name, set] of Object.entries(kinds)) {
        set.hidden = name !== kind.value;
        set.disabled = name !== kind.value;
      }
    };
    kind.addEventListener("change", showKind);
    showKind();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = targetBody(form, kind.value, kinds[kind.value]);
      const result = target ? await api("PUT", "/api/v1/targets/" + target.id, body) : await api("POST", "/api/v1/targets", body);
      if (!result.ok) return showErrors(form, result);
      location.hash = "#/targets/" + result.data.id;
    });
    show(form);
  }

  function targetBody(form, kind, kindSet) {
    // Common fields have one input each; a kind's own live in its fieldset (ssh and tcp both
    // have a host and a port).
    const find = (name) => kindSet.querySelector("[name='" + name + "']") || form.elements.namedItem(name);
    const text = (name) => {
      const element = find(name);
      return element && "value" in element && element.tagName !== "SPAN" ? element.value : undefined;
    };
    const checked = (name) => !!(find(name) && find(name).checked);
    const body = {
      name: text("name"),
      kind,
      interval_s: numberOrNothing(text("interval_s") || ""),
      timeout_s: numberOrNothing(text("timeout_s") || ""),
      healthy_threshold: numberOrNothing(text("healthy_threshold") || ""),
      unhealthy_threshold: numberOrNothing(text("unhealthy_threshold") || ""),
      enabled: checked("enabled"),
      tags: (text("tags") || "").split(",").map((tag) => tag.trim()).filter(Boolean),
      group: (text("group") || "").trim() || null,
      public: checked("public"),
    };
    if (kind === "http") {
      const headers = {};
      for (const line of (text("headers") || "").split("\n")) {
        const at = line.indexOf(":");
        if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      Object.assign(body, {
        url: text("url"),
        method: text("method"),
        expected_status: text("expected_status"),
        headers,
        body_contains: text("body_contains") || undefined,
        keepalive: checked("keepalive"),
      });
    } else {
      Object.assign(body, { host: text("host"), port: numberOrNothing(text("port") || "") });
    }
    if (kind === "ssh") {
      Object.assign(body, {
        username: text("username"),
        command: text("command") || undefined,
        expect_output: text("expect_output") || undefined,
        min_free_disk_mb: numberOrNothing(text("min_free_disk_mb") || ""),
        host_key_sha256: text("host_key_sha256") || undefined,
        trust_on_first_use: checked("trust_on_first_use"),
        shell: text("shell"),
      });
      // A secret is sent only when typed; a stored one the user did not replace is kept.
      for (const name of ["password", "private_key", "private_key_passphrase"]) {
        const typed = text(name);
        if (typed) body[name] = typed;
      }
    }
    return body;
  }

  // ---- notifiers, alert rules, maintenance windows, deliveries ---------------------------

  /// What a view shows that a body may not carry: bookkeeping, and whether a secret is set.
  const READ_ONLY = ["id", "created_at", "updated_at", "revision", "active", "active_until"];

  const RESOURCES = {
    notifiers: {
      title: "Notifiers",
      path: "/api/v1/notifiers",
      columns: (item) => [item.name, item.kind],
      headings: ["Name", "Kind"],
      template: { name: "ops webhook", kind: "webhook", url: "https://hooks.example.com/healthmon" },
      test: true,
    },
    alerts: {
      title: "Alert rules",
      path: "/api/v1/alerts",
      columns: (item) => [item.name, (item.notifiers || []).length + " notifier(s)", item.trigger_after_s + " s"],
      headings: ["Name", "Notifies", "After"],
      template: { name: "production down", notifiers: [], selector: { tags: ["prod"] }, trigger_after_s: 60 },
    },
    maintenance: {
      title: "Maintenance windows",
      path: "/api/v1/maintenance",
      columns: (item) => [item.name, item.cron ? item.cron + " for " + item.duration_s + " s" : when(item.starts_at) + " – " + when(item.ends_at)],
      headings: ["Name", "When"],
      template: { name: "Sunday patching", selector: { tags: ["prod"] }, cron: "0 2 * * sun", duration_s: 3600, timezone: "UTC" },
    },
  };

  async function resourceList(name) {
    const resource = RESOURCES[name];
    const result = await api("GET", resource.path);
    if (!result.ok) return show(el("p", { class: "error" }, problem(result)));
    const rows = result.data.items.map((item) =>
      el(
        "tr",
        {},
        resource.columns(item).map((cell, n) => el("td", {}, n === 0 && isAdmin() ? el("a", { href: "#/" + name + "/" + item.id }, cell) : cell)),
        el(
          "td",
          {},
          resource.test && isAdmin() ? el("button", { type: "button", onclick: (event) => testNotifier(item.id, event.target) }, "Send a test") : null,
        ),
      ),
    );
    show(
      el("div", { class: "heading" }, el("h1", {}, resource.title), isAdmin() ? el("a", { class: "button", href: "#/" + name + "/new" }, "New") : null),
      rows.length
        ? el("div", { class: "scroll" }, el("table", {}, el("thead", {}, el("tr", {}, resource.headings.concat([""]).map((h) => el("th", {}, h)))), el("tbody", {}, rows)))
        : el("p", { class: "empty" }, "None yet."),
    );
  }

  async function testNotifier(id, button) {
    button.disabled = true;
    const result = await api("POST", "/api/v1/notifiers/" + id + "/test");
    button.disabled = false;
    if (!result.ok) button.textContent = "Test failed: " + problem(result);
    else button.textContent = result.data.delivered ? "Delivered" : "Not delivered: " + (result.data.error || result.data.status_code);
  }

  /// A JSON editor of one notifier, rule or window: the fields as the API takes them, write-only
  /// ones left out (sending none keeps them); each error is listed by the field it names.
  async function resourceEditor(name, id) {
    const resource = RESOURCES[name];
    let document_ = resource.template;
    if (id) {
      const result = await api("GET", resource.path + "/" + id);
      if (!result.ok) return show(el("p", { class: "error" }, problem(result)));
      document_ = Object.fromEntries(
        Object.entries(result.data).filter(([key, value]) => !READ_ONLY.includes(key) && !key.startsWith("has_") && value !== null && !(key === "headers" && Array.isArray(value))),
      );
    }
    const editor = el("textarea", { name: "document", rows: 16, spellcheck: "false", class: "code" }, JSON.stringify(document_, null, 2));
    const form = el(
      "form",
      { class: "card" },
      el("h1", {}, (id ? "Edit " : "New ") + resource.title.replace(/s$/, "").toLowerCase()),
      el("p", { class: "muted" }, "The fields are those of the API (see /docs). Write-only fields stay as stored unless given."),
      field("Document (JSON)", "document", editor),
      el("ul", { class: "error", "data-error-for": "form", role: "alert" }),
      el("div", { class: "actions" }, el("button", { type: "submit" }, id ? "Save" : "Create"), id ? el("button", { type: "button", class: "danger", onclick: () => removeResource(name, id) }, "Delete") : null),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      let body;
      try {
        body = JSON.parse(editor.value);
      } catch (error) {
        form.querySelector("[data-error-for='document']").textContent = "not valid JSON: " + error.message;
        return;
      }
      const result = id ? await api("PATCH", resource.path + "/" + id, body) : await api("POST", resource.path, body);
      if (!result.ok) return showErrors(form, result);
      location.hash = "#/" + name;
    });
    show(form);
  }

  async function removeResource(name, id) {
    if (!confirm("Delete it?")) return;
    const result = await api("DELETE", RESOURCES[name].path + "/" + id);
    if (!result.ok) return showErrors(app, result);
    location.hash = "#/" + name;
  }

  async function deliveriesView(query) {
    const params = new URLSearchParams(query);
    params.set("limit", "100");
    const result = await api("GET", "/api/v1/deliveries?" + params.toString());
    if (!result.ok) return show(el("p", { class: "error" }, problem(result)));
    const filter = select("status", ["", "pending", "delivered", "failed", "suppressed"], query.get("status") || "", "any");
    filter.addEventListener("change", () => (location.hash = "#/deliveries" + (filter.value ? "?status=" + filter.value : "")));
    const rows = result.data.items.map((d) =>
      el("tr", {}, el("td", {}, when(d.created_at)), el("td", {}, d.event), el("td", {}, d.status), el("td", {}, String(d.attempts)), el("td", {}, d.last_error || "")),
    );
    show(
      el("h1", {}, "Deliveries"),
      el("label", {}, "Status ", filter),
      rows.length
        ? el("div", { class: "scroll" }, el("table", {}, el("thead", {}, el("tr", {}, ["Created", "Event", "Status", "Attempts", "Last error"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)))
        : el("p", { class: "empty" }, "No deliveries."),
    );
  }

  // ---- users and tokens -------------------------------------------------------------------

  async function usersView() {
    const result = await api("GET", "/api/v1/users");
    if (!result.ok) return show(el("p", { class: "error" }, problem(result)));
    const form = el(
      "form",
      { class: "card", id: "user-form" },
      el("h2", {}, "New user"),
      field("Username", "username", input("username", "")),
      field("Password", "password", input("password", "", { type: "password", autocomplete: "new-password" })),
      field("Role", "role", select("role", ["viewer", "admin"], "viewer")),
      el("p", { class: "error", "data-error-for": "form", role: "alert" }),
      el("button", { type: "submit" }, "Create user"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { username: form.elements.username.value, password: form.elements.password.value, role: form.elements.role.value };
      const created = await api("POST", "/api/v1/users", body);
      if (!created.ok) return showErrors(form, created);
      usersView();
    });
    const rows = result.data.items.map((user) =>
      el(
        "tr",
        {},
        el("td", {}, user.username),
        el("td", {}, user.role),
        el("td", {}, when(user.created_at)),
        el("td", {}, el("button", { type: "button", class: "danger", onclick: async () => {
          if (!confirm("Delete " + user.username + "?")) return;
          const removed = await api("DELETE", "/api/v1/users/" + encodeURIComponent(user.username));
          if (!removed.ok) return alert(problem(removed));
          usersView();
        } }, "Delete")),
      ),
    );
    show(el("h1", {}, "Users"), el("table", {}, el("tbody", {}, rows)), form);
  }

  async function tokensView(created) {
    const result = await api("GET", "/api/v1/tokens");
    if (!result.ok) return show(el("p", { class: "error" }, problem(result)));
    const rows = result.data.items.map((token) =>
      el(
        "tr",
        {},
        el("td", {}, token.name || ""),
        el("td", {}, token.username),
        el("td", {}, token.role),
        el("td", {}, when(token.expires_at)),
        el("td", {}, when(token.last_used_at)),
        el("td", {}, isAdmin() ? el("button", { type: "button", class: "danger", onclick: async () => {
          const revoked = await api("DELETE", "/api/v1/tokens/" + token.id);
          if (!revoked.ok) return alert(problem(revoked));
          tokensView();
        } }, "Revoke") : null),
      ),
    );
    let form = null;
    if (isAdmin()) {
      form = el(
        "form",
        { class: "card", id: "token-form" },
        el("h2", {}, "New API token"),
        field("Name", "name", input("name", "")),
        field("Role", "role", select("role", ["viewer", "admin"], "viewer")),
        field("Expires in (days)", "expires_in_days", input("expires_in_days", "", { inputmode: "numeric" }), "empty: never"),
        el("p", { class: "error", "data-error-for": "form", role: "alert" }),
        el("button", { type: "submit" }, "Create token"),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = { name: form.elements.name.value, role: form.elements.role.value, expires_in_days: numberOrNothing(form.elements.expires_in_days.value) };
        const made = await api("POST", "/api/v1/tokens", body);
        if (!made.ok) return showErrors(form, made);
        tokensView(made.data.token);
      });
    }
    show(
      el("h1", {}, "API tokens"),
      created ? el("p", { class: "card notice", id: "new-token" }, "The new token, shown this once: ", el("code", {}, created)) : null,
      el("div", { class: "scroll" }, el("table", {}, el("thead", {}, el("tr", {}, ["Name", "User", "Role", "Expires", "Last used", ""].map((h) => el("th", {}, h)))), el("tbody", {}, rows))),
      form,
    );
  }

  // ---- routing ----------------------------------------------------------------------------

  function navigation() {
    const links = [
      ["#/targets", "Targets"],
      ["#/notifiers", "Notifiers"],
      ["#/alerts", "Alert rules"],
      ["#/maintenance", "Maintenance"],
      ["#/deliveries", "Deliveries"],
      ["#/tokens", "Tokens"],
    ];
    if (isAdmin()) links.push(["#/users", "Users"]);
    nav.replaceChildren(
      ...links.map(([href, label]) => el("a", { href }, label)),
      el("a", { href: "/status" }, "Status page"),
      el("a", { href: "/docs" }, "API"),
    );
    who.replaceChildren(session.username + " (" + session.role + ") ", el("button", { type: "button", class: "link", id: "sign-out", onclick: signOut }, "Sign out"));
  }

  async function render() {
    if (!session) return loginView();
    navigation();
    follow();
    const [path, search] = (location.hash.slice(1) || "/targets").split("?");
    const query = new URLSearchParams(search || "");
    const parts = path.split("/").filter(Boolean);
    const editing = parts[1] === "new" || parts[2] === "edit" || (parts[0] in RESOURCES && parts[1]);
    if (editing && !isAdmin()) {
      return show(el("p", { class: "notice card", id: "read-only" }, "You are signed in as a viewer: you can read everything here, not change it."));
    }
    try {
      if (parts[0] === "targets" && parts[1] === "new") return await targetForm(null);
      if (parts[0] === "targets" && parts[1] && parts[2] === "edit") return await targetForm(parts[1]);
      if (parts[0] === "targets" && parts[1]) return await targetView(parts[1]);
      if (parts[0] in RESOURCES && parts[1] === "new") return await resourceEditor(parts[0], null);
      if (parts[0] in RESOURCES && parts[1]) return await resourceEditor(parts[0], parts[1]);
      if (parts[0] in RESOURCES) return await resourceList(parts[0]);
      if (parts[0] === "deliveries") return await deliveriesView(query);
      if (parts[0] === "users") return await usersView();
      if (parts[0] === "tokens") return await tokensView(null);
      return await targetsView(query);
    } catch (error) {
      show(el("p", { class: "error" }, "The console could not load this page: " + error.message));
    }
  }

  window.addEventListener("hashchange", render);
  render();
})();
