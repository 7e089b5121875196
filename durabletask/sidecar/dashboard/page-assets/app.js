// The durabletask dashboard page. Plain browser JavaScript, no build step.
// Instance ids, names, payloads and history are user data: they are only ever put on the
// page as text (textContent / text nodes), never parsed as HTML.
"use strict";

const PAGE_SIZE = 50;
const LIVE_INTERVAL_MS = 2000;
const MAIN_STATUSES = ["RUNNING", "PENDING", "SUSPENDED", "COMPLETED", "FAILED", "TERMINATED"];
const TERMINAL = new Set(["COMPLETED", "FAILED", "TERMINATED", "CANCELED"]);
const TOKEN_KEY = "durabletask.token";
const HUB_KEY = "durabletask.hub";

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  hubs: [],
  hub: "",
  statuses: new Set(),
  allStatuses: MAIN_STATUSES,
  q: "",
  cursors: [null],
  page: 0,
  instance: null,
  historyKey: "",
  busy: false,
  pending: null,
};

class Unauthorized extends Error {}

const $ = (id) => document.getElementById(id);

// el("td", {class: "id"}, "text", otherNode): strings become text nodes, never markup.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function statusBadge(status) {
  return el("span", { class: "status status-" + status }, status);
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function pretty(raw) {
  if (raw === null || raw === undefined) return null;
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch (e) {
    return raw;
  }
}

function instancePath(id) {
  return "/api/instances/" + encodeURIComponent(id);
}

function instanceLink(id) {
  return el("a", { href: "#/instance/" + encodeURIComponent(id) }, id);
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function api(path, params = {}, body = undefined) {
  const url = new URL(path, location.origin);
  if (state.hub) url.searchParams.set("hub", state.hub);
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const init = { headers: {} };
  if (state.token) init.headers.Authorization = "Bearer " + state.token;
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  if (response.status === 401) {
    showSignin(data && data.error);
    throw new Unauthorized();
  }
  if (!response.ok) {
    throw new Error((data && data.error) || response.status + " " + response.statusText);
  }
  return data;
}

// ----- sign in, hubs, routing ------------------------------------------------

const VIEWS = ["list-view", "instance-view", "entity-list-view", "entity-view"];

function showSignin(message) {
  for (const id of VIEWS) $(id).hidden = true;
  $("signin").hidden = false;
  $("signout").hidden = true;
  showError(message || "");
  $("token").focus();
}

async function start() {
  const info = await api("/api/info");
  $("signin").hidden = true;
  $("signout").hidden = !state.token;
  state.hubs = info.hubs;
  state.allStatuses = MAIN_STATUSES.concat(info.statuses.filter((s) => !MAIN_STATUSES.includes(s)));
  const picker = $("hub");
  picker.replaceChildren(...info.hubs.map((hub) => el("option", { value: hub }, hub)));
  $("hub-picker").hidden = info.hubs.length === 0;
  const stored = sessionStorage.getItem(HUB_KEY);
  state.hub = info.hubs.includes(stored) ? stored : info.hubs[0] || "";
  picker.value = state.hub;
  await route();
}

// #/ instances, #/instance/ID one instance, #/entities entities, #/entity/ID one entity.
function currentRoute() {
  const hash = location.hash;
  const one = hash.match(/^#\/(instance|entity)\/(.+)$/);
  if (one) return { view: one[1] + "-view", id: decodeURIComponent(one[2]) };
  return { view: hash === "#/entities" ? "entity-list-view" : "list-view", id: null };
}

async function route() {
  const { view, id } = currentRoute();
  for (const name of VIEWS) $(name).hidden = name !== view;
  const onEntities = view.startsWith("entity");
  for (const [tab, current] of [["tab-instances", !onEntities], ["tab-entities", onEntities]]) {
    if (current) $(tab).setAttribute("aria-current", "page");
    else $(tab).removeAttribute("aria-current");
  }
  if (view !== "instance-view") state.instance = null;
  if (view === "list-view") {
    await loadList();
  } else if (view === "instance-view") {
    if (!state.instance || state.instance.id !== id) {
      state.historyKey = "";
      $("action-form").hidden = true;
    }
    await loadInstance(id);
  } else if (view === "entity-list-view") {
    entities.current = null;
    await loadEntities();
  } else {
    if (!entities.current || entities.current.id !== id) {
      $("signal-form").reset();
      $("signal-note").textContent = "";
    }
    await loadEntity(id);
  }
}

// One load at a time; a request made meanwhile runs right after (the latest one wins).
async function refresh(task) {
  if (state.busy) {
    state.pending = task;
    return;
  }
  state.busy = true;
  try {
    await task();
  } catch (e) {
    if (!(e instanceof Unauthorized)) showError(e.message);
  } finally {
    state.busy = false;
  }
  const next = state.pending;
  state.pending = null;
  if (next) await refresh(next);
}

// ----- instance list ---------------------------------------------------------

async function loadList() {
  const statuses = [...state.statuses].join(",");
  const [page, counts] = await Promise.all([
    api("/api/instances", { status: statuses, q: state.q, limit: PAGE_SIZE, cursor: state.cursors[state.page] }),
    api("/api/counts", { q: state.q }),
  ]);
  showError("");
  renderFilters(counts);
  renderRows(page.instances);
  state.cursors.length = state.page + 1;
  if (page.nextCursor) state.cursors.push(page.nextCursor);
  $("newer").disabled = state.page === 0;
  $("older").disabled = !page.nextCursor;
  const matching = state.statuses.size
    ? [...state.statuses].reduce((sum, s) => sum + (counts.counts[s] || 0), 0)
    : counts.total;
  const first = state.page * PAGE_SIZE + (page.instances.length ? 1 : 0);
  $("page-info").textContent =
    `${first}–${state.page * PAGE_SIZE + page.instances.length} of ${matching.toLocaleString()}`;
}

function renderFilters(counts) {
  const all = el("button", { type: "button", "data-status": "", "aria-pressed": String(state.statuses.size === 0) },
    "All", el("span", { class: "count" }, counts.total.toLocaleString()));
  const buttons = state.allStatuses
    .filter((s) => MAIN_STATUSES.includes(s) || counts.counts[s] || state.statuses.has(s))
    .map((s) => el("button", { type: "button", "data-status": s, "aria-pressed": String(state.statuses.has(s)) },
      s.charAt(0) + s.slice(1).toLowerCase().replace(/_/g, " "),
      el("span", { class: "count" }, (counts.counts[s] || 0).toLocaleString())));
  $("status-filters").replaceChildren(all, ...buttons);
}

function renderRows(instances) {
  const rows = instances.map((inst) => el("tr", { "data-id": inst.id },
    el("td", { class: "id mono" }, instanceLink(inst.id)),
    el("td", {}, inst.name),
    el("td", {}, statusBadge(inst.status)),
    el("td", {}, when(inst.createdAt)),
    el("td", {}, when(inst.lastUpdatedAt))));
  $("instances").tBodies[0].replaceChildren(...rows);
  $("empty").hidden = instances.length > 0;
}

function resetPaging() {
  state.cursors = [null];
  state.page = 0;
}

// ----- one instance ----------------------------------------------------------

async function loadInstance(id) {
  let inst;
  try {
    inst = await api(instancePath(id));
  } catch (e) {
    if (e instanceof Unauthorized) throw e;
    state.instance = null;
    $("instance-title").textContent = id;
    $("instance-status").replaceChildren();
    for (const part of ["actions", "payloads", "history"]) $(part).replaceChildren();
    $("overview").tBodies[0].replaceChildren();
    throw e;
  }
  const history = await api(instancePath(id) + "/history");
  showError("");
  state.instance = inst;
  $("instance-title").textContent = inst.id;
  $("instance-status").replaceChildren(statusBadge(inst.status));
  renderActions(inst);
  renderOverview(inst);
  renderPayloads(inst);
  const events = history.events;
  const key = events.length + ":" + (events.length ? events[events.length - 1].eventId : "");
  if (key !== state.historyKey) {
    state.historyKey = key;
    renderHistory(events);
  }
}

function renderOverview(inst) {
  const facts = [
    ["Name", inst.name],
    ["Version", inst.version],
    ["Execution ID", inst.executionId],
    ["Created", when(inst.createdAt)],
    ["Last updated", when(inst.lastUpdatedAt)],
    ["Completed", when(inst.completedAt)],
    ["Scheduled start", when(inst.scheduledStartAt)],
    ["Parent", inst.parentInstanceId ? instanceLink(inst.parentInstanceId) : null],
    ["Tags", Object.keys(inst.tags).length ? JSON.stringify(inst.tags) : null],
  ].filter(([, value]) => value);
  $("overview").tBodies[0].replaceChildren(
    ...facts.map(([label, value]) => el("tr", {}, el("th", {}, label), el("td", {}, value))));
}

function payloadBlock(title, raw, id) {
  const text = pretty(raw);
  return el("div", { class: "payload", id },
    el("h2", {}, title),
    text === null ? el("p", { class: "none" }, "none") : el("pre", {}, text));
}

function failureText(failure) {
  const parts = [];
  for (let f = failure; f; f = f.innerFailure) {
    parts.push(`${f.errorType}: ${f.errorMessage}` + (f.stackTrace ? "\n" + f.stackTrace : ""));
  }
  return parts.join("\n\ncaused by ");
}

function renderPayloads(inst) {
  const blocks = [
    payloadBlock("Input", inst.input, "input"),
    payloadBlock("Output", inst.output, "output"),
    payloadBlock("Custom status", inst.customStatus, "custom-status"),
  ];
  if (inst.failure) {
    blocks.push(el("div", { class: "payload", id: "failure" },
      el("h2", {}, "Failure"), el("pre", {}, failureText(inst.failure))));
  }
  $("payloads").replaceChildren(...blocks);
}

function renderHistory(events) {
  const start = events.length && events[0].timestamp ? Date.parse(events[0].timestamp) : null;
  $("history").replaceChildren(...events.map((event) => {
    const at = event.timestamp ? Date.parse(event.timestamp) : null;
    const offset = start !== null && at !== null ? `+${((at - start) / 1000).toFixed(3)}s` : "";
    const marker = event.kind === "orchestratorStarted" || event.kind === "orchestratorCompleted";
    const tone = marker ? "marker"
      : /Failed$/.test(event.kind) || (event.details && event.details.failureDetails) ? "failed"
        : /Completed$/.test(event.kind) ? "completed" : null;
    return el("li", { class: tone, "data-kind": event.kind },
      el("span", { class: "when", title: event.timestamp || "" }, offset),
      el("span", { class: "kind" }, event.kind),
      el("span", { class: "summary" }, event.summary),
      Object.keys(event.details).length === 0 ? null : el("details", {}, el("summary", {}, "fields"),
        el("pre", {}, JSON.stringify({ eventId: event.eventId, timestamp: event.timestamp, ...event.details }, null, 2))));
  }));
}

// ----- actions ---------------------------------------------------------------

const ACTIONS = [
  { name: "raise-event", label: "Raise event", allowed: (s) => !TERMINAL.has(s),
    fields: [["name", "event name", "text"], ["data", "data (JSON, optional)", "json"]] },
  { name: "suspend", label: "Suspend", allowed: (s) => s === "RUNNING" || s === "PENDING",
    fields: [["reason", "reason (optional)", "text"]] },
  { name: "resume", label: "Resume", allowed: (s) => s === "SUSPENDED",
    fields: [["reason", "reason (optional)", "text"]] },
  { name: "terminate", label: "Terminate", danger: true, allowed: (s) => !TERMINAL.has(s),
    fields: [["output", "output (JSON, optional)", "json"], ["recursive", "also terminate sub-orchestrations", "bool"]] },
  { name: "rewind", label: "Rewind", allowed: (s) => s === "FAILED",
    fields: [["reason", "reason (optional)", "text"]] },
  { name: "purge", label: "Purge", danger: true, allowed: (s) => TERMINAL.has(s),
    fields: [["recursive", "also purge sub-orchestrations", "bool"]] },
];

function renderActions(inst) {
  $("actions").replaceChildren(...ACTIONS.map((action) => {
    const button = el("button", { type: "button", id: "action-" + action.name,
      class: action.danger ? "danger" : null, disabled: !action.allowed(inst.status) }, action.label);
    button.addEventListener("click", () => openAction(action));
    return button;
  }));
}

function openAction(action) {
  const form = $("action-form");
  form.dataset.action = action.name;
  $("action-heading").textContent = `${action.label} ${state.instance.id}`;
  $("action-run").textContent = action.label;
  $("action-fields").replaceChildren(...action.fields.map(([name, label, kind]) => {
    if (kind === "bool") {
      return el("label", {}, el("input", { type: "checkbox", name }), " " + label);
    }
    const input = kind === "json" ? el("textarea", { name, rows: "3" }) : el("input", { type: "text", name });
    return el("label", {}, label, input);
  }));
  form.hidden = false;
}

function actionBody(form, action) {
  const body = {};
  for (const [name, , kind] of action.fields) {
    const input = form.elements.namedItem(name);
    if (kind === "bool") {
      body[name] = input.checked;
    } else if (input.value.trim()) {
      if (kind === "json") {
        try {
          body[name] = JSON.parse(input.value);
        } catch (e) {
          throw new Error(`${name} is not valid JSON: ${e.message}`);
        }
      } else {
        body[name] = input.value;
      }
    }
  }
  return body;
}

async function runAction(event) {
  event.preventDefault();
  const form = $("action-form");
  const action = ACTIONS.find((a) => a.name === form.dataset.action);
  const id = state.instance.id;
  await refresh(async () => {
    const result = await api(instancePath(id) + "/" + action.name, {}, actionBody(form, action));
    form.hidden = true;
    if (action.name === "purge") {
      location.hash = "#/";
      showError(result.deleted ? "" : "nothing was purged");
      return;
    }
    await loadInstance(id);
  });
}

// ----- wiring ----------------------------------------------------------------

// Calls searched(text) once typing in the search box pauses for a moment.
function onSearch(input, searched) {
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => searched(input.value.trim()), 250);
  });
}

function wire() {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, state.token);
    $("token").value = "";
    refresh(start);
  });
  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = "";
    showSignin("");
  });
  $("hub").addEventListener("change", () => {
    state.hub = $("hub").value;
    sessionStorage.setItem(HUB_KEY, state.hub);
    resetPaging();
    resetEntityPaging();
    if (location.hash.startsWith("#/instance/")) location.hash = "#/";
    else if (location.hash.startsWith("#/entity/")) location.hash = "#/entities";
    else refresh(route);
  });
  $("status-filters").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const status = button.dataset.status;
    if (!status) state.statuses.clear();
    else if (state.statuses.has(status)) state.statuses.delete(status);
    else state.statuses.add(status);
    resetPaging();
    refresh(loadList);
  });
  onSearch($("search"), (text) => {
    state.q = text;
    resetPaging();
    refresh(loadList);
  });
  $("older").addEventListener("click", () => { state.page += 1; refresh(loadList); });
  $("newer").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); refresh(loadList); });
  $("action-form").addEventListener("submit", runAction);
  $("action-cancel").addEventListener("click", () => { $("action-form").hidden = true; });
  wireEntities();
  window.addEventListener("hashchange", () => refresh(route));
  setInterval(() => {
    const viewing = VIEWS.some((id) => !$(id).hidden);
    const idle = !state.busy && $("action-form").hidden && !document.hidden;
    if ($("live").checked && viewing && idle) refresh(route);
  }, LIVE_INTERVAL_MS);
}

wire();
refresh(start);
