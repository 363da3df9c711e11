// kfdeploy ui: the page. Every call goes to the local server, which runs the CLI's workflow functions.
"use strict";
const TOKEN = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
let catalog = { components: [], platforms: [] };
let specName = "";

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "X-Kfdeploy-Token": TOKEN },
  };
  const response = await fetch(path, init);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

// -- spec: the YAML is the truth; the form is filled from it and writes back into it -----------

let validateTimer = null;
function scheduleValidate() {
  clearTimeout(validateTimer);
  validateTimer = setTimeout(validate, 300);
}

let validations = 0;
async function validate() {
  const check = ++validations;
  const result = await api("/api/validate", { text: $("yaml").value });
  if (check !== validations) return result;  // the text changed since
  const box = $("problems");
  box.replaceChildren();
  if (result.valid) {
    specName = result.name;
    box.append(el("p", { class: "ok", text: `valid KfDef '${result.name}' (platform ${result.platform}, `
      + `${result.applications.length} applications)` }));
  } else {
    box.append(el("p", { class: "bad", text: `${result.file}: ${result.problems.length} problem(s)` }),
      el("ul", {}, ...result.problems.map((p) => el("li", { text: p }))));
  }
  $("delete-btn").disabled = $("d-confirm").value !== specName || !specName;
  if (result.form) fillForm(result.form);
  return result;
}

function fillForm(form) {
  if (document.activeElement !== $("f-name")) $("f-name").value = form.name || "";
  $("f-platform").value = form.platform || "";
  for (const app of catalog.components) {
    const entry = form.applications.find((a) => a.name === app.name);
    const box = $(`app-${app.name}`);
    if (box) box.checked = !!entry && entry.enabled !== false;
    for (const name of Object.keys(app.params)) {
      const input = $(`param-${app.name}-${name}`);
      if (input && document.activeElement !== input) {
        const value = entry && entry.params ? entry.params[name] : undefined;
        input.value = value === undefined ? "" : (typeof value === "string" ? value : JSON.stringify(value));
      }
    }
  }
}

function readForm() {
  const applications = catalog.components.map((app) => {
    const params = {};
    for (const [name, p] of Object.entries(app.params)) {
      const raw = $(`param-${app.name}-${name}`).value;
      if (raw === "") continue;
      if (p.type === "string") { params[name] = raw; continue; }
      try { params[name] = JSON.parse(raw); } catch { params[name] = raw; }  // validate names the bad value
    }
    return { name: app.name, enabled: $(`app-${app.name}`).checked, params, known: Object.keys(app.params) };
  });
  return { name: $("f-name").value, platform: $("f-platform").value, applications };
}

let formEdits = 0;
async function formChanged() {
  const edit = ++formEdits;
  const result = await api("/api/form", { text: $("yaml").value, form: readForm() });
  if (edit !== formEdits) return;  // a later edit is on its way
  $("yaml").value = result.text;
  await validate();
}

function buildForm() {
  for (const p of catalog.platforms) $("f-platform").append(el("option", { value: p, text: p }));
  const apps = $("f-apps");
  for (const app of catalog.components) {
    const id = `app-${app.name}`;
    const row = el("div", {}, el("input", { type: "checkbox", id }),
      el("label", { for: id, class: "inline", text: ` ${app.name}` }),
      el("span", { text: ` ${app.description.split(". ")[0]}` }));
    const params = Object.entries(app.params);
    if (params.length) {
      const details = el("details", {}, el("summary", { text: `${params.length} param(s)` }));
      for (const [name, p] of params) {
        const pid = `param-${app.name}-${name}`;
        details.append(el("div", { class: "param" },
          el("label", { for: pid, text: name }),
          el("input", { id: pid, placeholder: `${JSON.stringify(p.default)} (${p.type})`, title: p.doc,
            "aria-describedby": `${pid}-doc` }),
          el("small", { id: `${pid}-doc`, text: p.doc })));
      }
      row.append(details);
    }
    apps.append(row);
  }
  $("form").addEventListener("change", formChanged);
  $("f-name").addEventListener("input", () => { clearTimeout(validateTimer); validateTimer = setTimeout(formChanged, 300); });
}

async function save() {
  const result = await api("/api/save", { text: $("yaml").value });
  $("saved").textContent = result.saved ? `saved ${result.file}` : "not saved: fix the problems above first";
}

// -- plan and graph --------------------------------------------------------------------------

function drawGraph(graph, states = {}) {
  const svg = $("graph");
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  const w = 210, h = 28, gap = 12;
  const level = {};
  for (const n of graph.nodes) {
    const deps = graph.edges.filter((e) => e[0] === n).map((e) => level[e[1]] ?? 0);
    level[n] = deps.length ? Math.max(...deps) + 1 : 0;
  }
  const rows = {};
  const pos = {};
  for (const n of graph.nodes) {
    const l = level[n]; rows[l] = (rows[l] || 0) + 1;
    pos[n] = { x: 10 + l * (w + 50), y: 10 + (rows[l] - 1) * (h + gap) };
  }
  const width = 20 + (Math.max(0, ...Object.values(level)) + 1) * (w + 50);
  const height = 20 + Math.max(1, ...Object.values(rows)) * (h + gap);
  svg.setAttribute("width", width); svg.setAttribute("height", height);
  const add = (tag, attrs, parent = svg) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    parent.append(node); return node;
  };
  for (const [from, to] of graph.edges) {
    add("line", { x1: pos[from].x, y1: pos[from].y + h / 2, x2: pos[to].x + w, y2: pos[to].y + h / 2,
      stroke: "#557" });
  }
  for (const n of graph.nodes) {
    const g = add("g", { class: states[n] || "", id: `node-${n}` });
    add("rect", { x: pos[n].x, y: pos[n].y, width: w, height: h, rx: 4 }, g);
    const t = add("text", { x: pos[n].x + 6, y: pos[n].y + 18 }, g);
    t.textContent = states[n] ? `${n}: ${states[n]}` : n;
  }
}

let graph = { nodes: [], edges: [] };
const states = {};

async function plan() {
  $("plan-out").replaceChildren(el("p", { text: "running preflight and plan…" }));
  try {
    const result = await api("/api/plan", {});
    const findings = result.preflight.findings || [];
    $("preflight").replaceChildren(el("h3", { text: "Preflight" }), el("ul", {}, ...findings.map((f) =>
      el("li", { class: f.status === "FAIL" ? "bad" : "", text: `${f.status} ${f.check} ${f.object}: ${f.message}`
        + (f.fix ? ` (${f.fix})` : "") }))));
    graph = result.graph; drawGraph(graph, states);
    const out = $("plan-out");
    out.replaceChildren(el("h3", { text: "Plan" }));
    const table = el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Application" }),
      el("th", { scope: "col", text: "Summary" }), el("th", { scope: "col", text: "Changes" }))));
    const body = el("tbody");
    for (const app of result.plan.applications) {
      const changes = el("ul");
      for (const c of app.changes) {
        changes.append(el("li", { text: `${c.action} ${c.object || c.label || ""}${c.reason ? ` (${c.reason})` : ""}` },
          ...(c.diff ? [el("pre", { text: c.diff })] : [])));
      }
      const listed = app.changes.length ? el("details", {}, el("summary", { text: `${app.changes.length} object(s)` }),
        changes) : el("span", { text: "nothing to change" });
      body.append(el("tr", { id: `plan-${app.name}` }, el("td", { text: app.name }),
        el("td", { text: app.summary }), el("td", {}, listed)));
    }
    table.append(body);
    out.append(table, el("details", {}, el("summary", { text: "the plan as the CLI prints it" }),
      el("pre", { id: "plan-text", text: result.text })));
  } catch (e) {
    $("plan-out").replaceChildren(el("p", { class: "bad", text: e.message }));
  }
}

// -- apply, delete: progress streamed over server-sent events --------------------------------

function follow() {
  const source = new EventSource("/api/events?since=0");
  $("log").textContent = "";
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.kind === "done") {
      $("result").replaceChildren(el("pre", { class: event.ok ? "ok" : "bad", text: event.text }));
      refreshStatus();
      return;
    }
    $("log").textContent += `${event.text}\n`;
    $("log").scrollTop = $("log").scrollHeight;
    if (event.app) { states[event.app] = event.state; drawGraph(graph, states); }
  };
  source.addEventListener("end", () => source.close());
}

async function start(path, body) {
  $("result").replaceChildren();
  try {
    await api(path, body);
    follow();
  } catch (e) {
    $("result").replaceChildren(el("p", { class: "bad", text: e.message }));
  }
}

async function refreshStatus() {
  const body = $("status-table").tBodies[0];
  try {
    const result = await api("/api/status");
    body.replaceChildren(...result.components.map((c) => el("tr", { id: `status-${c.name}` },
      el("td", { text: c.name }), el("td", { class: c.health === "Healthy" ? "ok" : "bad", text: c.health }),
      el("td", { text: `${c.ready}/${c.objects}` }),
      el("td", { text: c.unhealthy.slice(0, 5).map((u) => `${u.object}: ${u.reason}`).join("; ") }))));
    for (const c of result.components) states[c.name] = c.health;
    drawGraph(graph, states);
  } catch (e) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "bad", text: e.message })));
  }
}

async function reveal() {
  try {
    const login = await api("/api/credentials", {});
    $("login").replaceChildren(el("dt", { text: "URL" }), el("dd", { text: login.url }),
      el("dt", { text: "User" }), el("dd", { text: login.user }),
      el("dt", { text: "Password" }), el("dd", { id: "password", text: login.password ?? "(not known to kfdeploy)" }));
  } catch (e) {
    $("login").replaceChildren(el("dd", { class: "bad", text: e.message }));
  }
}

async function main() {
  catalog = await api("/api/catalog");
  buildForm();
  $("yaml").value = (await api("/api/spec")).text;
  $("yaml").addEventListener("input", scheduleValidate);
  $("save").addEventListener("click", save);
  $("plan-btn").addEventListener("click", plan);
  $("apply-btn").addEventListener("click", () => start("/api/apply", {}));
  $("status-btn").addEventListener("click", refreshStatus);
  $("reveal").addEventListener("click", reveal);
  $("d-confirm").addEventListener("input", () => { $("delete-btn").disabled = $("d-confirm").value !== specName; });
  $("delete-btn").addEventListener("click", () => start("/api/delete", {
    confirm: $("d-confirm").value, deletePvcs: $("d-pvcs").checked, deleteCrds: $("d-crds").checked,
    deleteNamespaces: $("d-ns").checked, cluster: $("d-cluster").checked }));
  setInterval(() => { if ($("live-status").checked) refreshStatus(); }, 5000);
  await validate();
  try { graph = await api("/api/graph"); drawGraph(graph, states); } catch { /* the spec does not load yet */ }
  refreshStatus();
}

main();
