// The dashboard's Entities tab: the entity list and one entity's page. Loaded before app.js,
// whose helpers (el, api, $, refresh, when, pretty, instanceLink, onSearch, showError,
// Unauthorized) it uses at run time.
// Entity ids, states and inputs are user data: only ever put on the page as text.
"use strict";

const ENTITY_PAGE_SIZE = 50;

const entities = {
  q: "",
  transient: false,
  cursors: [null],
  page: 0,
  current: null,
  followUp: null,
};

function entityPath(id) {
  return "/api/entities/" + encodeURIComponent(id);
}

function entityLink(id) {
  return el("a", { href: "#/entity/" + encodeURIComponent(id) }, id);
}

function resetEntityPaging() {
  entities.cursors = [null];
  entities.page = 0;
}

// ----- entity list -----------------------------------------------------------

async function loadEntities() {
  const page = await api("/api/entities", {
    q: entities.q, transient: entities.transient ? "true" : "", limit: ENTITY_PAGE_SIZE,
    cursor: entities.cursors[entities.page],
  });
  showError("");
  const rows = page.entities.map((entity) => el("tr", { "data-id": entity.id },
    el("td", { class: "id mono" }, entityLink(entity.id)),
    el("td", { class: "mono state" }, entity.hasState ? entity.statePreview : el("span", { class: "none" }, "no state")),
    el("td", { class: "id" }, entity.lockedBy ? instanceLink(entity.lockedBy) : null),
    el("td", {}, entity.backlog.toLocaleString()),
    el("td", {}, when(entity.lastModifiedAt))));
  $("entities").tBodies[0].replaceChildren(...rows);
  $("entity-empty").hidden = rows.length > 0;
  entities.cursors.length = entities.page + 1;
  if (page.nextCursor) entities.cursors.push(page.nextCursor);
  $("entity-previous").disabled = entities.page === 0;
  $("entity-next").disabled = !page.nextCursor;
  const first = entities.page * ENTITY_PAGE_SIZE;
  $("entity-page-info").textContent = rows.length ? `${first + 1}–${first + rows.length}` : "";
}

// ----- one entity ------------------------------------------------------------

async function loadEntity(id) {
  let entity;
  try {
    entity = await api(entityPath(id));
  } catch (e) {
    if (e instanceof Unauthorized) throw e;
    entities.current = null;
    $("entity-title").textContent = id;
    for (const part of ["entity-state", "queue-note"]) $(part).replaceChildren();
    for (const table of ["entity-overview", "entity-queue"]) $(table).tBodies[0].replaceChildren();
    throw e;
  }
  showError("");
  entities.current = entity;
  $("entity-title").textContent = entity.id;
  renderEntityOverview(entity);
  const text = pretty(entity.state);
  $("entity-state").replaceChildren(el("h2", {}, "State"),
    text === null ? el("p", { class: "none" }, "no state") : el("pre", {}, text));
  renderQueue(entity);
}

function renderEntityOverview(entity) {
  const lock = entity.lock;
  const facts = [
    ["Name", entity.name],
    ["Key", entity.key],
    ["Last modified", when(entity.lastModifiedAt)],
    ["Locked by", lock ? el("span", {}, instanceLink(lock.holder),
      el("span", { class: "muted" }, ` (critical section ${lock.criticalSection})`)) : "not locked"],
    ["Backlog", entity.backlog.toLocaleString() + (entity.backlog === 1 ? " message" : " messages")],
  ];
  $("entity-overview").tBodies[0].replaceChildren(
    ...facts.map(([label, value]) => el("tr", {}, el("th", {}, label), el("td", { id: "entity-" + label.toLowerCase().replace(/ /g, "-") }, value))));
}

function renderQueue(entity) {
  const rows = entity.queued.map((message) => el("tr", { "data-kind": message.kind },
    el("td", {}, message.kind),
    el("td", {}, message.operation),
    el("td", { class: "id" }, !message.from ? el("span", { class: "none" }, "client")
      : message.fromEntity ? entityLink(message.from) : instanceLink(message.from)),
    el("td", {}, when(message.enqueuedAt)),
    el("td", {}, message.visibleAt ? when(message.visibleAt) : "now"),
    el("td", { class: "mono" }, message.inputPreview)));
  $("entity-queue").tBodies[0].replaceChildren(...rows);
  $("entity-queue").hidden = rows.length === 0;
  $("queue-note").textContent = rows.length === 0 ? "Nothing is queued."
    : rows.length < entity.backlog ? `The first ${rows.length} of ${entity.backlog} are shown.` : "";
}

async function sendSignal(event) {
  event.preventDefault();
  const form = $("signal-form");
  const id = entities.current ? entities.current.id : null;
  if (id === null) return;
  const body = { operation: form.elements.namedItem("operation").value.trim() };
  const raw = form.elements.namedItem("input").value;
  await refresh(async () => {
    if (raw.trim()) {
      try {
        body.input = JSON.parse(raw);
      } catch (e) {
        throw new Error(`input is not valid JSON: ${e.message}`);
      }
    }
    await api(entityPath(id) + "/signal", {}, body);
    $("signal-note").textContent = `queued ${body.operation}`;
    await loadEntity(id);
  });
  // The worker runs it a moment later: look again soon rather than at the next live tick.
  clearTimeout(entities.followUp);
  entities.followUp = setTimeout(() => {
    if (location.hash === "#/entity/" + encodeURIComponent(id)) refresh(() => loadEntity(id));
  }, 300);
}

function wireEntities() {
  onSearch($("entity-search"), (text) => {
    entities.q = text;
    resetEntityPaging();
    refresh(loadEntities);
  });
  $("entity-transient").addEventListener("change", () => {
    entities.transient = $("entity-transient").checked;
    resetEntityPaging();
    refresh(loadEntities);
  });
  $("entity-next").addEventListener("click", () => { entities.page += 1; refresh(loadEntities); });
  $("entity-previous").addEventListener("click", () => {
    entities.page = Math.max(0, entities.page - 1);
    refresh(loadEntities);
  });
  $("signal-form").addEventListener("submit", sendSignal);
}
