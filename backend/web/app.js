/* prtrace viewer: vanilla JavaScript, no build step.
 *
 * Routes (location.hash): #/login, #/ (the trace list), #/trace/ID[?event=EID].
 * The API token lives in sessionStorage (this tab only) and goes out as a Bearer
 * header. A trace's events are fetched page by page (GET /traces/{id}/events with
 * after= and limit=) as the list scrolls, so a 20,000-event trace opens at once.
 */
"use strict";

const PAGE = 500;
const TOKEN_KEY = "prtrace_token";
const TYPE_COLOURS = {
  edit: "#2e5aac", terminal_command: "#b42318", thought: "#f5b800", file_opened: "#12b76a",
  file_closed: "#98a2b3", file_saved: "#0e9384", go_to_definition: "#7a5af8",
  find_references: "#9e77ed", diagnostics: "#f79009", commit_made: "#344054",
};
const colour = (type) => TYPE_COLOURS[type] || "#667085";

const app = document.getElementById("app");

// --- helpers ------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const token = () => sessionStorage.getItem(TOKEN_KEY);

class ApiError extends Error {
  constructor(status, detail) { super(`${status}: ${detail}`); this.status = status; }
}

async function api(path, params) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(key, value);
  }
  const response = await fetch(url, { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    if (response.status === 401 || response.status === 403) {
      sessionStorage.removeItem(TOKEN_KEY);
      location.hash = "#/login";
    }
    throw new ApiError(response.status, detail);
  }
  return response.json();
}

const fmtTime = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "Z") : "–");
const fmtScore = (x) => (x === null || x === undefined ? "–" : Number(x).toFixed(2));

// Who wrote each added line of the final patch (artifacts.attribution): path → line → range.
function authorIndex(attribution) {
  const index = {};
  for (const file of (attribution && attribution.files) || []) {
    const lines = (index[file.path] = {});
    for (const r of file.ranges || []) for (let n = r.start_line; n <= r.end_line; n++) lines[n] = r;
  }
  return index;
}

const authorLabel = (r) => (r.kind === "agent" ? `agent ${r.agent || ""}`.trim() : r.kind);

function diffView(patch, attribution) {
  const box = h("div", { className: "diff" });
  const index = attribution ? authorIndex(attribution) : null;
  let path = null, line = 0, hunkHead = null, hunkAuthors = null;
  const closeHunk = () => {
    if (hunkHead && hunkAuthors && Object.keys(hunkAuthors).length) {
      const who = Object.entries(hunkAuthors).map(([k, n]) => `${k} · ${n} line${n === 1 ? "" : "s"}`);
      hunkHead.append(h("span", { className: "hunk-authors" }, `  written by ${who.join(", ")}`));
    }
  };
  for (const text of (patch || "").split("\n")) {
    let cls = "";
    const attrs = {};
    if (text.startsWith("+++") || text.startsWith("---") || text.startsWith("diff --git")) {
      cls = "file";
      if (text.startsWith("+++ ")) path = text.slice(4).replace(/^b\//, "");
    } else if (text.startsWith("@@")) {
      closeHunk();
      cls = "hunk";
      const m = /\+(\d+)(?:,(\d+))?/.exec(text);
      line = m ? (m[2] === "0" ? Number(m[1]) + 1 : Number(m[1])) : 0;
      hunkAuthors = {};
    } else if (text.startsWith("+")) {
      cls = "add";
      if (index) {
        const r = (index[path] || {})[line];
        const who = r ? authorLabel(r) : "unknown";
        cls += ` by-${r ? r.kind : "unknown"}`;
        attrs["data-author"] = who;
        attrs.title = `written by ${who}${r && r.event_id ? " (" + r.event_id + ")" : ""}`;
        if (hunkAuthors) hunkAuthors[who] = (hunkAuthors[who] || 0) + 1;
      }
      line += 1;
    } else if (text.startsWith("-")) cls = "del";
    else if (text.startsWith(" ")) line += 1;
    const node = h("div", { className: cls, ...attrs }, text || " ");
    if (cls === "hunk") hunkHead = node;
    box.append(node);
  }
  closeHunk();
  return box;
}

function authorBadge(e) {
  const a = e.author;
  if (!a) return null;
  const label = a.kind === "agent" ? `by agent ${a.agent || ""}${a.model ? " (" + a.model + ")" : ""}` : `by ${a.kind}`;
  return h("span", { className: `author author-${a.kind}`, title: a.event_id || "" }, label);
}

// --- login --------------------------------------------------------------------------

function showLogin(message) {
  const input = h("input", { id: "token", type: "password", placeholder: "pta_…", size: 40, autocomplete: "off" });
  const error = h("p", { id: "login-error", className: "error" }, message || "");
  const form = h("form", { className: "card login", onsubmit: async (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    try {
      await api("/traces", { limit: 1 });
      location.hash = "#/";
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      error.textContent = `Login failed (${err.message})`;
    }
  } },
    h("h1", {}, "Log in"),
    h("p", { className: "muted" }, "An API token (pta_…). It is kept in this tab only."),
    input, " ", h("button", { id: "login-btn", type: "submit" }, "Log in"), error);
  app.replaceChildren(form);
  input.focus();
}

// --- the trace list -------------------------------------------------------------------

const listState = { filters: { sort: "-created" } };

function showList() {
  const f = listState.filters;
  const field = (name, label, attrs = {}) =>
    h("label", {}, label, h("input", { name, value: f[name] || "", ...attrs }));
  const sort = h("select", { name: "sort" },
    ...["-created", "created", "-overall", "overall"].map((s) =>
      h("option", { value: s, selected: f.sort === s }, s)));
  const form = h("form", { className: "filters", id: "filters", onsubmit: (e) => {
    e.preventDefault();
    listState.filters = Object.fromEntries(new FormData(form).entries());
    showList();
  } },
    field("repository", "repository"), field("developer", "developer"),
    field("verdict", "verdict", { placeholder: "resolved,…" }),
    field("overall_min", "score ≥", { size: 5 }), field("overall_max", "score ≤", { size: 5 }),
    field("has_type", "has event type", { placeholder: "terminal_command" }),
    h("label", {}, "sort", sort), h("button", { type: "submit" }, "Filter"));
  const body = h("tbody");
  const more = h("button", { id: "more", hidden: true }, "More");
  const table = h("table", { id: "traces" },
    h("thead", {}, h("tr", {}, ...["trace", "created", "developer", "repository", "status",
      "events", "QA", "verdict", "score"].map((c) => h("th", {}, c)))), body);
  app.replaceChildren(h("h1", {}, "Traces"), form, table, more);

  let cursor = null;
  async function load() {
    const page = await api("/traces", { ...listState.filters, limit: 100, cursor });
    for (const s of page.traces) {
      body.append(h("tr", { className: "trace-row", "data-id": s.trace_id,
        onclick: () => { location.hash = `#/trace/${s.trace_id}`; } },
        h("td", {}, h("a", { className: "trace-link mono", href: `#/trace/${s.trace_id}` }, s.trace_id)),
        h("td", {}, fmtTime(s.created_at)), h("td", {}, s.developer_id),
        h("td", { className: "mono" }, s.repository), h("td", {}, s.status),
        h("td", {}, s.events), h("td", {}, s.qa_status),
        h("td", {}, s.verdict ? h("span", { className: `badge verdict-${s.verdict}` }, s.verdict) : "–"),
        h("td", { className: "score-cell" }, fmtScore(s.overall))));
    }
    if (!page.traces.length && !body.children.length) {
      body.append(h("tr", {}, h("td", { colspan: 9, className: "muted" }, "No traces match.")));
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  more.onclick = load;
  load().catch((err) => app.append(h("p", { className: "error" }, err.message)));
}

// --- one trace --------------------------------------------------------------------------

function testsCard(tests) {
  if (!tests) return h("div", { className: "card", id: "qa-tests" }, h("h2", {}, "Tests"), h("p", { className: "muted" }, "No test results yet."));
  const list = (name) => {
    const items = tests[name] || [];
    return h("div", { className: `tests-${name}` }, h("b", {}, `${name} (${items.length})`),
      items.length ? h("ul", {}, ...items.map((t) => h("li", { className: "mono" }, t))) : h("span", { className: "muted" }, " none"));
  };
  return h("div", { className: "card", id: "qa-tests" },
    h("h2", {}, "Tests ", tests.verdict ? h("span", { className: `badge verdict-${tests.verdict}` }, tests.verdict) : ""),
    h("p", {}, `passed ${tests.passed || 0}, failed ${tests.failed || 0}, skipped ${tests.skipped || 0}`,
      tests.exit_code !== undefined ? `, exit ${tests.exit_code}` : "",
      tests.command ? h("span", { className: "mono muted" }, `  ${tests.command}`) : ""),
    list("fail_to_pass"), list("pass_to_pass"), list("pass_to_fail"),
    tests.error ? h("p", { className: "error" }, `${tests.error.kind}: ${tests.error.message}`) : "");
}

function judgeCard(judge, jump) {
  const card = h("div", { className: "card", id: "judge" }, h("h2", {}, "Judge"));
  if (!judge) { card.append(h("p", { className: "muted" }, "Not judged yet.")); return card; }
  card.append(h("p", {}, h("b", {}, "overall "), h("span", { id: "judge-overall" }, fmtScore(judge.overall)),
    h("span", { className: "muted" }, `  ${judge.status}${judge.model ? " · " + judge.model : ""}${judge.rubric_version ? " · rubric " + judge.rubric_version : ""}`)));
  const scores = judge.scores || {};
  const max = Math.max(1, ...Object.values(scores).map(Number)) > 1 ? 10 : 1;
  for (const [dim, score] of Object.entries(scores)) {
    const evidence = (judge.evidence || {})[dim] || [];
    card.append(h("div", { className: "score", "data-dimension": dim },
      h("span", { style: "width: 12em" }, dim),
      h("span", { className: "meter" }, h("b", { style: `width: ${Math.min(100, (100 * score) / max)}%` })),
      h("span", { className: "mono", style: "width: 3em" }, fmtScore(score)),
      h("span", {}, ...evidence.map((id) => h("a", { className: "ev", href: `#ev-${id}`, "data-event": id,
        onclick: (e) => { e.preventDefault(); jump(id); } }, id)))));
  }
  if (judge.comments) card.append(h("p", { className: "thought" }, judge.comments));
  if (judge.reason) card.append(h("p", { className: "muted" }, judge.reason));
  return card;
}

function eventBody(e) {
  switch (e.type) {
    case "edit":
      return diffView(e.patch_unified);
    case "file_created":
    case "file_changed":
      return e.patch_unified ? diffView(e.patch_unified) : null;
    case "terminal_command": {
      const output = [e.stdout, e.stderr].filter(Boolean).join(e.stdout && e.stderr ? "\n--- stderr ---\n" : "");
      return output ? h("details", { className: "output" },
        h("summary", {}, `output (${output.length} chars${e.truncated ? ", truncated" : ""})`), h("pre", {}, output)) : null;
    }
    case "thought":
      return h("div", { className: "thought" }, e.raw);
    case "agent_prompt":
      return h("div", { className: "thought" }, e.prompt);
    case "agent_tool_call":
      return e.output ? h("details", { className: "output" },
        h("summary", {}, `result (${e.output.length} chars${e.truncated ? ", truncated" : ""})`), h("pre", {}, e.output)) : null;
    case "go_to_definition":
    case "find_references": {
      const targets = (e.targets || []).map((t) => `${t.path}:${t.line}`);
      return targets.length ? h("div", { className: "mono muted" }, `→ ${targets.join(", ")}`) : null;
    }
    case "diagnostics":
      return (e.items || []).length ? h("ul", {}, ...e.items.slice(0, 20).map((d) => h("li", {}, `${d.severity}: ${d.message}`))) : null;
    default:
      return null;
  }
}

function eventSubject(e) {
  if (e.type === "terminal_command") {
    const bad = e.exit_code !== null && e.exit_code !== undefined && e.exit_code !== 0;
    return [h("span", { className: "mono" }, `$ ${e.cmd}`), " ",
      e.exit_code === undefined || e.exit_code === null ? "" :
        h("span", { className: `exit ${bad ? "exit-bad" : "exit-0"}` }, `exit ${e.exit_code}`)];
  }
  if (e.type === "go_to_definition" || e.type === "find_references") {
    return h("span", { className: "mono" }, `${e.path}${e.symbol ? " · " + e.symbol : ""}`);
  }
  if (e.type === "diagnostics") return h("span", { className: "mono" }, `${e.path} · ${e.errors || 0} errors, ${e.warnings || 0} warnings`);
  if (e.type === "commit_made") return h("span", { className: "mono" }, `${e.hash.slice(0, 10)} ${e.message || ""}`);
  if (e.type === "agent_tool_call") return h("span", { className: "mono" }, `${e.agent} · ${e.tool}: ${e.input}`);
  if (e.type === "agent_prompt") return h("span", { className: "mono" }, `${e.agent} · prompt`);
  if (e.type === "agent_session") return h("span", { className: "mono" }, `${e.agent} · ${e.phase}${e.model ? " · " + e.model : ""}`);
  return [h("span", { className: "mono" }, e.path || e.url || e.to_branch || ""), " ", authorBadge(e)];
}

async function showTrace(traceId, focus) {
  app.replaceChildren(h("p", { className: "muted" }, "Loading…"));
  const trace = await api(`/ui/api/traces/${encodeURIComponent(traceId)}`);
  const task = trace.task || {};
  const qa = trace.qa || {};
  const eventsBox = h("div", { className: "events", id: "events" });
  const sentinel = h("div", { id: "sentinel" }, "");
  const canvas = h("canvas", { id: "timeline", className: "timeline", width: 1200, height: 46 });
  const counter = h("span", { id: "event-count", className: "muted" });
  const filters = { type: "", path: "", q: "" };
  let after = null;
  let done = false;
  let loading = null;
  let start = null;
  const seen = [];  // [time ms, type] of every loaded event, for the timeline strip

  function drawTimeline() {
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!seen.length) return;
    const t0 = seen[0][0];
    const span = Math.max(1, seen[seen.length - 1][0] - t0);
    const types = [...new Set(seen.map((s) => s[1]))];
    const row = canvas.height / Math.max(1, types.length);
    for (const [t, type] of seen) {
      ctx.fillStyle = colour(type);
      ctx.fillRect(Math.round(((t - t0) / span) * (canvas.width - 2)), types.indexOf(type) * row, 2, Math.max(2, row - 1));
    }
    legend.replaceChildren(...types.map((t) => h("span", {}, h("b", { style: `background: ${colour(t)}` }), t)));
  }
  const legend = h("div", { className: "legend" });

  function row(e) {
    const t = Date.parse(e.t);
    if (start === null) start = t;
    const offset = ((t - start) / 1000).toFixed(1);
    return h("div", { className: `event type-${e.type}`, id: `ev-${e.id}`, "data-id": e.id, "data-type": e.type },
      h("div", { className: "head" },
        h("span", { className: "t", title: e.t }, `+${offset}s`),
        h("span", { className: "type", style: `color: ${colour(e.type)}` }, e.type),
        eventSubject(e), h("span", { className: "muted mono", style: "margin-left:auto" }, e.id)),
      (() => { const b = eventBody(e); return b ? h("div", { className: "body" }, b) : null; })());
  }

  async function loadPage() {
    if (done) return;
    if (loading) return loading;
    loading = (async () => {
      const page = await api(`/traces/${encodeURIComponent(traceId)}/events`, { ...filters, after, limit: PAGE });
      const fragment = document.createDocumentFragment();
      for (const e of page.events) {
        fragment.append(row(e));
        seen.push([Date.parse(e.t), e.type]);
      }
      eventsBox.append(fragment);
      after = page.next_after;
      done = !after;
      counter.textContent = `${eventsBox.children.length} shown${done ? "" : " (scroll for more)"} of ${trace.event_count} events`;
      sentinel.textContent = done ? "end of the trace" : "loading more…";
      drawTimeline();
    })();
    try { await loading; } finally { loading = null; }
  }

  async function reload() {
    eventsBox.replaceChildren();
    seen.length = 0;
    after = null; done = false; start = null;
    await loadPage();
  }

  async function jump(eventId) {
    // Evidence may be far down a long trace: page on until it is loaded.
    if (filters.type || filters.path || filters.q) {
      filters.type = filters.path = filters.q = "";
      filterForm.reset();
      await reload();
    }
    let node = document.getElementById(`ev-${eventId}`);
    while (!node && !done) { await loadPage(); node = document.getElementById(`ev-${eventId}`); }
    if (!node) return;
    node.scrollIntoView({ block: "center" });
    node.classList.add("flash");
    setTimeout(() => node.classList.remove("flash"), 2000);
  }

  const typeSelect = h("select", { name: "type" }, h("option", { value: "" }, "all types"),
    ...Object.keys(TYPE_COLOURS).concat(["file_created", "file_deleted", "file_changed", "file_moved", "rename", "code_action", "branch_switched", "push_remote", "pr_opened"])
      .map((t) => h("option", { value: t }, t)));
  const filterForm = h("form", { className: "filters", id: "event-filters", onsubmit: (e) => {
    e.preventDefault();
    Object.assign(filters, Object.fromEntries(new FormData(filterForm).entries()));
    reload();
  } }, h("label", {}, "type", typeSelect),
    h("label", {}, "file", h("input", { name: "path", placeholder: "src/app.py" })),
    h("label", {}, "text in commands/notes", h("input", { name: "q" })),
    h("button", { type: "submit" }, "Filter"), counter);

  app.replaceChildren(
    h("h1", { id: "trace-title" }, task.title || trace.trace_id),
    h("div", { className: "card", id: "trace-header" },
      h("div", { className: "mono" }, trace.trace_id, "  ", h("span", { className: "badge" }, trace.status)),
      h("div", {}, `${task.repository} @ ${task.commit}${task.branch ? " (" + task.branch + ")" : ""}`),
      h("div", { className: "muted" }, `developer ${trace.developer.id} · created ${fmtTime(trace.created_at)} · ${trace.event_count} events · QA ${qa.status || "none"}`)),
    h("div", { className: "grid" }, testsCard(qa.tests), judgeCard(qa.judge, jump)),
    h("h2", {}, "Final patch"),
    h("div", { id: "final-patch" }, trace.artifacts && trace.artifacts.final_patch ? diffView(trace.artifacts.final_patch, trace.artifacts.attribution || null) : h("p", { className: "muted" }, "No final patch.")),
    h("h2", {}, "Timeline"), canvas, legend,
    h("h2", {}, "Events"), filterForm, eventsBox, sentinel);

  new IntersectionObserver((entries) => {
    if (entries.some((x) => x.isIntersecting)) loadPage();
  }, { rootMargin: "600px" }).observe(sentinel);
  await loadPage();
  if (focus) await jump(focus);
}

// --- routing ------------------------------------------------------------------------------

async function route() {
  const logout = document.getElementById("logout");
  logout.hidden = !token();
  document.getElementById("who").textContent = token() ? "logged in" : "";
  const hash = location.hash || "#/";
  if (!token() && hash !== "#/login") { location.hash = "#/login"; return; }
  try {
    if (hash === "#/login") showLogin();
    else if (hash.startsWith("#/trace/")) {
      const [id, query] = hash.slice("#/trace/".length).split("?");
      const focus = new URLSearchParams(query || "").get("event");
      await showTrace(decodeURIComponent(id), focus);
    } else showList();
  } catch (err) {
    app.replaceChildren(h("p", { className: "error", id: "page-error" }, err.message));
  }
}

document.getElementById("logout").onclick = () => {
  sessionStorage.removeItem(TOKEN_KEY);
  location.hash = "#/login";
};
window.addEventListener("hashchange", route);
route();
