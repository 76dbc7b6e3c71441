// The Partita console: one script drawing the page its URL names, from the JSON API
// under /api/v1/ (protobuf's JSON mapping of the gRPC messages). Graph layout: dagre.
"use strict";

const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "TERMINATED", "TIMED_OUT",
  "CONTINUED_AS_NEW"]);
const STATUSES = ["RUNNING", "PAUSED", "COMPLETED", "FAILED", "CANCELLED", "TERMINATED",
  "TIMED_OUT", "CONTINUED_AS_NEW"];
const LEGEND = [["done", "--done"], ["failed", "--failed"], ["running", "--running"],
  ["waiting", "--waiting"], ["cancelled", "--cancelled"], ["not reached", "--unreached"]];

const params = new URLSearchParams(location.search);
const namespace = params.get("namespace") || "";

// -- small helpers ---------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, value);
  for (const child of children) el.append(child instanceof Node ? child : String(child));
  return el;
}

function withNamespace(path, extra) {
  const query = new URLSearchParams(extra || {});
  if (namespace) query.set("namespace", namespace);
  const text = query.toString();
  return text ? `${path}${path.includes("?") ? "&" : "?"}${text}` : path;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, options) {
  let response = await fetch(path, options);
  if (response.status === 401) {
    // The plane requires authentication: ask once for a bearer token, kept in a cookie
    // (EventSource streams carry cookies, not headers).
    const token = window.prompt("This plane requires a token (partita token create):");
    if (token) {
      document.cookie = `partita_token=${encodeURIComponent(token.trim())}; path=/; SameSite=Strict`;
      response = await fetch(path, options);
    }
  }
  const text = await response.text();
  const body = text ? JSON.parse(text) : {};
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function post(path, body) {
  if (namespace) body = { namespace, ...body };
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function notice(text, isError) {
  const el = document.getElementById("notice");
  el.textContent = text;
  el.className = isError ? "error" : "";
  el.hidden = !text;
}

function shortStatus(value) {
  return (value || "").replace(/^ACTIVATION_STATUS_|^STAGE_RUN_STATUS_|^EVENT_TYPE_|^SITE_STATE_/, "");
}

function when(value) {
  return value ? new Date(value).toLocaleString() : "";
}

function json(value) {
  return JSON.stringify(value === undefined ? {} : value, null, 2);
}

// JSON data folded to one line, unfolded on a click.
function folded(value) {
  const text = JSON.stringify(value === undefined ? {} : value);
  if (text.length <= 80) return h("code", {}, text);
  return h("details", {}, h("summary", {}, h("code", {}, `${text.slice(0, 77)}…`)),
    h("pre", {}, json(value)));
}

function badge(status) {
  const name = shortStatus(status);
  return h("span", { class: `badge ${name}`, "data-status": name }, name || "?");
}

function main(...children) {
  const el = document.getElementById("main");
  el.replaceChildren(...children);
  return el;
}

// -- the stage graph -------------------------------------------------------------------------

// The status of each stage from an activation's stage runs: done, failed, running, waiting,
// cancelled, or not-reached for a stage with no run.
function stageStatuses(activation) {
  const byStage = {};
  for (const run of activation.stageRuns || []) (byStage[run.stage] ||= []).push(run);
  const found = {};
  for (const [stage, runs] of Object.entries(byStage)) {
    const names = runs.map((r) => shortStatus(r.status));
    const last = names[names.length - 1];
    if (names.includes("RUNNING")) found[stage] = "running";
    else if (names.includes("WAITING")) found[stage] = "waiting";
    else if (names.includes("FAILED") && last !== "COMPLETED") found[stage] = "failed";
    else if (last === "CANCELLED") found[stage] = "cancelled";
    else found[stage] = "done";
  }
  return found;
}

// The edges an activation went along: from each stage run to the stage it selected.
function takenEdges(activation) {
  const taken = new Set();
  for (const run of activation.stageRuns || []) {
    if (run.nextStage) taken.add(`${run.stage}\u0000${run.nextStage}`);
  }
  return taken;
}

function drawGraph(graph, options) {
  const statuses = options.statuses;
  const taken = options.taken || new Set();
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 70, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) g.setNode(node.name, { width: 180, height: 58, node });
  const drawn = new Set();
  for (const edge of graph.edges) {
    g.setEdge(edge.source, edge.target, { kind: edge.kind }, edge.kind);
    drawn.add(`${edge.source}\u0000${edge.target}`);
  }
  // a selector computed from data: the edge appears once an activation took it
  for (const key of taken) {
    const [source, target] = key.split("\u0000");
    if (!drawn.has(key) && g.hasNode(source) && g.hasNode(target))
      g.setEdge(source, target, { kind: "next" }, "taken");
  }
  dagre.layout(g);
  const size = g.graph();
  const root = svg("svg", {
    width: Math.max(size.width || 0, 200), height: Math.max(size.height || 0, 80),
    "data-testid": "graph", role: "img", "aria-label": "stage graph",
  });
  root.append(svg("defs", {},
    svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "9",
      markerUnits: "userSpaceOnUse",
      markerHeight: "9", orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L10,5 L0,10 z",
      fill: "#6a7280" }))));
  for (const e of g.edges()) {
    const edge = g.edge(e);
    const points = edge.points.map((p) => `${p.x},${p.y}`);
    const key = `${e.v}\u0000${e.w}`;
    const isTaken = edge.kind === "next" && taken.has(key);
    const path = svg("path", {
      d: `M${points.join(" L")}`,
      class: `edge ${edge.kind}${isTaken ? " taken" : ""}`,
      "data-source": e.v, "data-target": e.w, "data-kind": edge.kind,
      "data-taken": isTaken ? "true" : "false", "marker-end": "url(#arrow)",
    });
    root.append(path);
    if (edge.kind === "compensate" || edge.kind === "branch") {
      const mid = edge.points[Math.floor(edge.points.length / 2)];
      root.append(svg("text", { x: mid.x + 4, y: mid.y - 4, class: "edge-label" },
        edge.kind === "compensate" ? "undo" : "branch"));
    }
  }
  for (const name of g.nodes()) {
    const box = g.node(name);
    const node = box.node;
    const status = statuses ? statuses[name] || "not-reached" : "none";
    const marks = [node.provider];
    if (node.fanOut) marks.push("fan-out");
    if (node.site) marks.push(`@ ${node.site}`);
    if (node.compensates) marks.push(`undoes ${node.compensates}`);
    const group = svg("g", {
      class: `node${node.compensation || node.compensates ? " compensation" : ""}`,
      "data-stage": name, "data-status": status, "data-fan-out": String(!!node.fanOut),
      "data-site": node.site || "", "data-compensates": node.compensates || "",
      transform: `translate(${box.x - box.width / 2},${box.y - box.height / 2})`,
    });
    const title = svg("title", {}, `${name}: ${status === "none" ? node.provider : status}`);
    if (node.fanOut) {  // a second box behind: the stage runs once per item
      group.append(svg("rect", { x: 5, y: 5, width: box.width, height: box.height, rx: 8,
        class: "stack" }));
    }
    group.append(
      title,
      svg("rect", { width: box.width, height: box.height, rx: 8, class: "box" }),
      svg("text", { x: 10, y: 22, class: "name" }, (node.first ? "▶ " : "") + name),
      svg("text", { x: 10, y: 42, class: "meta" }, marks.join(" · ")),
    );
    if (options.onSelect) group.addEventListener("click", () => options.onSelect(name));
    root.append(group);
  }
  return h("div", { class: "graph" }, root);
}

function legend() {
  return h("div", { class: "legend" },
    LEGEND.map(([label, color]) => h("span", { style: `--c: var(${color})` }, label)),
    h("span", { style: "--c: #1f2430" }, "path taken"),
    h("span", { style: "--c: #b86e00" }, "compensation (dashed)"));
}

// -- pages -----------------------------------------------------------------------------------

async function campaignsPage() {
  const data = await api(withNamespace("/api/v1/campaigns", { pageSize: 500 }));
  const rows = (data.campaigns || []).map((c) => h("tr", {},
    h("td", {}, h("a", { href: withNamespace(`/campaigns/${encodeURIComponent(c.name)}`) },
      c.name)),
    h("td", {}, `v${c.version}`),
    h("td", {}, Object.keys((c.spec || {}).stages || {}).length),
    h("td", {}, when(c.createTime)),
    h("td", {}, h("a", { href: withNamespace("/activations", { campaign: c.name }) },
      "activations"))));
  main(h("h1", {}, "Campaigns"),
    rows.length ? h("table", {}, h("tr", {}, h("th", {}, "name"), h("th", {}, "latest"),
      h("th", {}, "stages"), h("th", {}, "created"), h("th", {}, "")), rows)
      : h("p", { class: "empty" }, "No campaigns yet: partita apply -f campaign.yaml"));
}

async function campaignPage(name) {
  const version = params.get("version") || "";
  const query = version ? { version } : {};
  const [campaign, graph, versions] = await Promise.all([
    api(withNamespace(`/api/v1/campaigns/${encodeURIComponent(name)}`, query)),
    api(withNamespace(`/api/v1/campaigns/${encodeURIComponent(name)}/graph`, query)),
    api(withNamespace("/api/v1/campaigns", { namePrefix: name, allVersions: true,
      pageSize: 500 })),
  ]);
  const c = campaign.campaign;
  const select = h("select", {
    onchange: (e) => { location.href = withNamespace(location.pathname,
      { version: e.target.value }); },
  }, (versions.campaigns || []).filter((v) => v.name === name).map((v) =>
    h("option", { value: v.version, selected: v.version === c.version }, `v${v.version}`)));
  main(
    h("h1", {}, `Campaign ${c.name} `, select),
    h("p", { class: "muted" }, `${c.namespace} · ${c.apiVersion} · created ${when(c.createTime)}`,
      " · ", h("a", { href: withNamespace("/activations", { campaign: c.name }) },
        "its activations")),
    legend(),
    drawGraph(graph, {}),
    h("h2", {}, "Spec"),
    h("pre", {}, json(c.spec)),
  );
}

function toIso(local) {
  return local ? new Date(local).toISOString() : "";
}

async function activationsPage() {
  const query = { pageSize: params.get("pageSize") || "50" };
  for (const key of ["campaign", "pageToken"]) if (params.get(key)) query[key] = params.get(key);
  const search = new URLSearchParams(query);
  for (const status of params.getAll("statuses")) if (status) search.append("statuses", status);
  if (params.get("after")) search.set("startTimeAfter", toIso(params.get("after")));
  if (params.get("before")) search.set("startTimeBefore", toIso(params.get("before")));
  if (namespace) search.set("namespace", namespace);
  const form = h("form", { class: "filters", method: "get", action: "/activations" },
    namespace ? h("input", { type: "hidden", name: "namespace", value: namespace }) : null,
    h("label", {}, "status", h("select", { name: "statuses", "data-testid": "filter-status" },
      h("option", { value: "" }, "any"),
      STATUSES.map((s) => h("option", { value: s, selected: params.get("statuses") === s }, s)))),
    h("label", {}, "campaign", h("input", { name: "campaign", value: params.get("campaign") || "",
      "data-testid": "filter-campaign" })),
    h("label", {}, "created after", h("input", { type: "datetime-local", name: "after",
      value: params.get("after") || "" })),
    h("label", {}, "created before", h("input", { type: "datetime-local", name: "before",
      value: params.get("before") || "" })),
    h("label", {}, "per page", h("input", { name: "pageSize", size: 4,
      value: params.get("pageSize") || "50" })),
    h("button", { type: "submit" }, "Filter"));
  let data;
  try {
    data = await api(`/api/v1/activations?${search}`);
  } catch (error) {
    main(h("h1", {}, "Activations"), form);
    throw error;
  }
  const rows = (data.activations || []).map((a) => h("tr", { "data-activation": a.id },
    h("td", {}, h("a", { href: withNamespace(`/activations/${encodeURIComponent(a.id)}`) }, a.id)),
    h("td", {}, h("a", { href: withNamespace(`/campaigns/${encodeURIComponent(a.campaign)}`,
      { version: a.version }) }, `${a.campaign} v${a.version}`)),
    h("td", {}, badge(a.status)),
    h("td", {}, a.currentStage || ""),
    h("td", {}, when(a.createTime)),
    h("td", {}, when(a.closeTime))));
  const next = new URLSearchParams(location.search);
  next.set("pageToken", data.nextPageToken || "");
  const first = new URLSearchParams(location.search);
  first.delete("pageToken");
  main(h("h1", {}, "Activations"), form,
    rows.length ? h("table", { "data-testid": "activations" },
      h("tr", {}, ["id", "campaign", "status", "stage", "created", "closed"].map((t) =>
        h("th", {}, t))), rows)
      : h("p", { class: "empty" }, "No activation matches."),
    h("p", {},
      params.get("pageToken") ? h("a", { href: `/activations?${first}` }, "« first page") : null,
      " ",
      data.nextPageToken ? h("a", { href: `/activations?${next}`, "data-testid": "next-page" },
        "next page »") : null));
}

// One activation: header, actions, the colored graph, the selected stage's runs, the history;
// live while it runs.
async function activationPage(id) {
  const path = `/api/v1/activations/${encodeURIComponent(id)}`;
  let activation = (await api(withNamespace(path))).activation;
  const graph = await api(withNamespace(`/api/v1/campaigns/${encodeURIComponent(
    activation.campaign)}/graph`, { version: activation.version }));
  const events = [];
  let token = "";
  do {
    const page = await api(withNamespace(`${path}/history`, { pageSize: 1000,
      ...(token ? { pageToken: token } : {}) }));
    events.push(...(page.events || []));
    token = page.nextPageToken || "";
  } while (token);
  let selected = "";
  const live = h("span", { class: "live", "data-testid": "live" }, "");
  const header = h("div", {});
  const graphBox = h("div", {});
  const details = h("div", { "data-testid": "stage-details" },
    h("p", { class: "muted" }, "Select a stage to see its runs."));
  const history = h("tbody", {});
  const buttons = {
    cancel: h("button", { class: "danger", onclick: () => act("cancel") }, "Cancel"),
    terminate: h("button", { class: "danger", onclick: () => act("terminate") }, "Terminate"),
    signal: h("button", { onclick: () => act("signal") }, "Signal"),
    advance: h("button", { onclick: () => act("advance") }, "Advance"),
    approve: h("button", { onclick: () => act("approve") }, "Approve"),
    reject: h("button", { class: "danger", onclick: () => act("reject") }, "Reject"),
  };

  function render() {
    const status = shortStatus(activation.status);
    header.replaceChildren(
      h("h1", {}, `Activation ${activation.id} `, h("span", { "data-testid": "activation-status" },
        badge(activation.status)), " ", live),
      h("dl", {},
        h("dt", {}, "campaign"), h("dd", {}, h("a", { href: withNamespace(
          `/campaigns/${encodeURIComponent(activation.campaign)}`, { version: activation.version }) },
          `${activation.campaign} v${activation.version}`)),
        h("dt", {}, "current stage"), h("dd", {}, activation.currentStage || "—"),
        h("dt", {}, "mode"), h("dd", {}, activation.selfDriving ? "self-driving" : "stepped"),
        h("dt", {}, "created"), h("dd", {}, when(activation.createTime)),
        h("dt", {}, "closed"), h("dd", {}, when(activation.closeTime) || "—"),
        activation.statusMessage ? [h("dt", {}, "message"),
          h("dd", { "data-testid": "status-message" }, activation.statusMessage)] : null,
        h("dt", {}, "inputs"), h("dd", {}, folded(activation.inputs)),
        TERMINAL.has(status) ? [h("dt", {}, "outputs"), h("dd", {}, folded(activation.outputs))]
          : null));
    const open = !TERMINAL.has(status);
    buttons.cancel.disabled = !open;
    buttons.terminate.disabled = !open;
    buttons.signal.disabled = !open;
    buttons.advance.disabled = !(open && !activation.selfDriving && status === "PAUSED");
    // an approval stage waits: a person with the right role answers its form
    const waiting = (activation.stageRuns || []).some((r) => r.stage === activation.currentStage
      && shortStatus(r.status) === "WAITING");
    buttons.approve.disabled = !(open && waiting);
    buttons.reject.disabled = !(open && waiting);
    graphBox.replaceChildren(drawGraph(graph, {
      statuses: stageStatuses(activation),
      taken: takenEdges(activation),
      onSelect: (name) => { selected = name; render(); },
    }));
    if (selected) {
      const el = graphBox.querySelector(`.node[data-stage="${CSS.escape(selected)}"]`);
      if (el) el.classList.add("selected");
      showStage(selected);
    }
  }

  function showStage(name) {
    const runs = (activation.stageRuns || []).filter((r) => r.stage === name);
    details.replaceChildren(h("h2", {}, `Stage ${name}`), outcome(runs), h("div", {},
      runs.length ? runs.map((run) => h("div", { class: "run", "data-run": run.runId },
        h("dl", {},
          h("dt", {}, "run"), h("dd", {}, run.runId),
          h("dt", {}, "status"), h("dd", {}, badge(run.status)),
          h("dt", {}, "attempt"), h("dd", { "data-testid": "attempt" }, run.attempt || 1),
          h("dt", {}, "started"), h("dd", {}, when(run.startTime)),
          h("dt", {}, "ended"), h("dd", {}, when(run.endTime) || "—"),
          run.nextStage ? [h("dt", {}, "next"), h("dd", {}, run.nextStage)] : null),
        h("div", {}, h("div", { class: "muted" }, "inputs"),
          h("pre", { "data-testid": "run-inputs" }, json(run.inputs))),
        h("div", {}, h("div", { class: "muted" }, "outputs"),
          h("pre", { "data-testid": "run-outputs" }, json(run.outputs))),
        h("div", {}, run.error ? [h("div", { class: "muted" }, "error"),
          h("pre", { "data-testid": "run-error" }, json(run.error))] : null)))
        : h("p", { class: "muted" }, "Not reached.")));
  }

  // A fan-out stage's outcome, one row per item (per site, for a stage run on several sites:
  // the ``site`` of a stage run, where the plane reports one).
  function outcome(runs) {
    const items = runs.filter((r) => String(r.runId).includes("."));
    if (!items.length) return null;
    const sites = items.some((r) => r.site);
    return h("table", { "data-testid": "outcome" },
      h("tr", {}, ["item", sites ? "site" : null, "status", "attempt", "error"].filter(Boolean)
        .map((t) => h("th", {}, t))),
      items.map((r) => h("tr", {}, h("td", {}, r.runId), sites ? h("td", {}, r.site || "") : null,
        h("td", {}, badge(r.status)), h("td", {}, r.attempt || 1),
        h("td", {}, r.error ? r.error.message || r.error.type : ""))));
  }

  function addEvent(event) {
    history.append(h("tr", { "data-sequence": event.sequence },
      h("td", {}, event.sequence), h("td", {}, when(event.time)),
      h("td", {}, shortStatus(event.type)), h("td", {}, event.stage || ""),
      h("td", {}, folded(event.data))));
  }

  async function act(verb) {
    const fields = {
      cancel: [["reason", "reason (optional)", "input"]],
      terminate: [["reason", "reason (optional)", "input"]],
      signal: [["event", "event", "input"], ["data", "data (a JSON object)", "textarea"]],
      advance: [["stage", "stage (optional; default: what the selector chose)", "input"]],
      approve: [["stage", `stage (${activation.currentStage})`, "input"],
        ["fields", "form fields (a JSON object)", "textarea"]],
      reject: [["stage", `stage (${activation.currentStage})`, "input"]],
    }[verb];
    const values = await confirmDialog(`${verb[0].toUpperCase()}${verb.slice(1)} activation`,
      `${verb} activation ${activation.id}?`, fields);
    if (!values) return;
    const body = { ...values };
    if (verb === "approve" || verb === "reject") {
      body.stage = values.stage || activation.currentStage;
      try {
        body.fields = values.fields ? JSON.parse(values.fields) : {};
      } catch (error) {
        notice(`fields are not JSON: ${error.message}`, true);
        return;
      }
    }
    if (verb === "signal") {
      try {
        body.data = values.data ? JSON.parse(values.data) : {};
      } catch (error) {
        notice(`data is not JSON: ${error.message}`, true);
        return;
      }
    }
    try {
      const answer = await post(`${path}:${verb}`, body);
      activation = answer.activation;
      notice(`${verb}: done; the activation is ${shortStatus(activation.status)}`);
      render();
    } catch (error) {
      notice(`${verb}: ${error.message}`, true);
    }
  }

  function watch() {
    if (TERMINAL.has(shortStatus(activation.status))) {
      live.textContent = "closed";
      return;
    }
    const last = events.length ? events[events.length - 1].sequence : 0;
    const source = new EventSource(withNamespace(`${path}/watch`, { fromSequence: last }));
    source.onopen = () => { live.textContent = "● live"; live.className = "live on"; };
    source.onmessage = (message) => {
      const item = JSON.parse(message.data);
      if (item.event && !history.querySelector(`tr[data-sequence="${item.event.sequence}"]`))
        addEvent(item.event);
      if (item.activation) { activation = item.activation; render(); }
    };
    source.addEventListener("end", () => {
      source.close();
      live.textContent = "closed";
      live.className = "live";
    });
    source.addEventListener("abort", (message) => {
      source.close();
      live.textContent = "not live";
      live.className = "live";
      notice(`live updates stopped: ${JSON.parse(message.data).message}`, true);
    });
    source.onerror = () => { if (source.readyState !== EventSource.CLOSED) live.textContent = "reconnecting…"; };
  }

  for (const event of events) addEvent(event);
  render();
  main(header,
    h("div", { class: "actions" }, Object.values(buttons)),
    legend(), graphBox, details,
    h("h2", {}, "History"),
    h("table", { "data-testid": "history" },
      h("thead", {}, h("tr", {}, ["#", "time", "event", "stage", "data"].map((t) =>
        h("th", {}, t)))), history));
  watch();
}

function confirmDialog(title, text, fields) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  const inputs = {};
  document.getElementById("confirm-fields").replaceChildren(...fields.map(([name, label, tag]) => {
    inputs[name] = h(tag, { name, "data-field": name });
    return h("label", {}, label, inputs[name]);
  }));
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (dialog.returnValue !== "ok") return resolve(null);
      const values = {};
      for (const [name, input] of Object.entries(inputs)) if (input.value) values[name] = input.value;
      resolve(values);
    }, { once: true });
  });
}

async function sitesPage() {
  const plane = await api("/api/v1/plane");
  if (!plane.hub) {
    main(h("h1", {}, "Sites"), h("p", { class: "empty", "data-testid": "not-hub" },
      `This plane (site ${plane.siteId}) is not a hub: it has no sites. A hub plane lists ` +
      "here each site with its connection state, when it was last seen and its dispatches " +
      "in flight."));
    return;
  }
  const data = await api("/api/v1/sites?pageSize=500");
  main(h("h1", {}, "Sites"), h("table", {},
    h("tr", {}, ["site", "state", "last seen", "dispatches in flight", "version"].map((t) =>
      h("th", {}, t))),
    (data.sites || []).map((s) => h("tr", {}, h("td", {}, s.siteId),
      h("td", {}, badge(shortStatus(s.state) === "CONNECTED" ? "done" : "failed"),
        " ", shortStatus(s.state)),
      h("td", {}, when(s.lastSeenTime)), h("td", {}, s.dispatchesInFlight || 0),
      h("td", {}, s.planeVersion || "")))));
}

// -- routing ---------------------------------------------------------------------------------

async function route() {
  const parts = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const section = parts[0] || "campaigns";
  for (const link of document.querySelectorAll("[data-nav]"))
    link.classList.toggle("active", link.dataset.nav === section);
  api("/api/v1/plane").then((p) => {
    document.getElementById("plane").textContent =
      `site ${p.siteId}${p.hub ? " (hub)" : ""} · partita ${p.version}`;
  }).catch(() => {});
  try {
    if (section === "campaigns" && parts[1]) await campaignPage(parts[1]);
    else if (section === "campaigns") await campaignsPage();
    else if (section === "activations" && parts[1]) await activationPage(parts[1]);
    else if (section === "activations") await activationsPage();
    else if (section === "sites") await sitesPage();
    else main(h("p", { class: "empty" }, "No such page."));
    document.body.dataset.ready = "true";
  } catch (error) {
    if (document.getElementById("main").textContent === "Loading…") main();
    notice(error.message, true);
    document.body.dataset.ready = "true";
  }
}

route();
