// Provisioning logs: filters, a table, a detail pane, paging by
// @odata.nextLink. The filters are sent as Graph's v1.0 $filter; a server
// that refuses some of them gets only the job filter, and the rest is
// applied to each page in the browser.
import { at, get, graphQuote, GraphError } from "./api.js";
import { h, replace, errorBox, empty, badge, time, stepsView, modifiedView, normalizeEvent, kv, capitalize } from "./ui.js";

const statuses = ["Success", "Failure", "Skipped", "Warning"];
const actions = ["Create", "Update", "Delete", "Disable", "StagedDelete", "Other"];

export async function logsPage(main, params) {
  const f = {
    jobId: params.get("jobId") || "", from: params.get("from") || "", to: params.get("to") || "",
    status: params.get("status") || "", action: params.get("action") || "",
    identity: params.get("identity") || "", cycleId: params.get("cycleId") || "",
  };
  const field = (name, label, input) => h("div", {}, h("label", { for: "f-" + name }, label), input);
  const sel = (name, opts) => h("select", { id: "f-" + name, name }, h("option", { value: "" }, "Any"),
    opts.map(o => h("option", { value: o, selected: f[name] === o }, o)));
  const text = (name, type, extra) => h("input", { type, id: "f-" + name, name, value: f[name], ...extra });
  const form = h("form", { class: "card", id: "log-filters", "aria-label": "Filters", onsubmit: e => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    history.pushState(null, "", at("/portal/logs" + (q.size ? "?" + q : "")));
    logsPage(main, q);
  } },
  h("div", { class: "filters" },
    field("from", "From", text("from", "datetime-local")),
    field("to", "To", text("to", "datetime-local")),
    field("status", "Status", sel("status", statuses)),
    field("action", "Action", sel("action", actions)),
    field("identity", "Identity", text("identity", "search", { placeholder: "Name or id" })),
    field("cycleId", "Cycle id", text("cycleId", "text")),
    field("jobId", "Job id", text("jobId", "text")),
    h("div", {}, h("button", { type: "submit", id: "apply" }, "Apply"))),
  h("p", { class: "hint" }, "Times are in your time zone (", Intl.DateTimeFormat().resolvedOptions().timeZone, ")."));

  const list = h("div", { id: "log-list" });
  const pane = h("aside", { id: "log-detail", "aria-label": "Details", hidden: true });
  const layout = h("div", { class: "logs" }, h("div", { class: "card" }, list), pane);
  replace(main, h("h1", {}, "Provisioning logs"), form, layout);

  const pages = []; // the links of the pages seen, for Previous
  const serverFilter = v10Filter(f);
  let local = false; // the server refused the filter: apply it here

  const show = async link => {
    replace(list, h("p", { class: "muted" }, "Loading…"));
    let page;
    try {
      page = await get(link);
    } catch (e) {
      if (!local && e instanceof GraphError && e.status === 400 && serverFilter !== jobOnly(f)) {
        local = true;
        pages.length = 0;
        return show(firstLink(jobOnly(f)));
      }
      replace(list, errorBox(e, "Could not read the provisioning logs"));
      return;
    }
    const events = page.value.map(raw => ({ raw, ev: normalizeEvent(raw) })).filter(({ ev }) => !local || matches(ev, f));
    const rows = events.map(({ raw, ev }) => {
      const tr = h("tr", { class: "row", "data-id": ev.id },
        h("td", {}, time(ev.time)),
        h("td", {}, h("button", { type: "button", class: "link", "aria-controls": "log-detail", onclick: () => open(tr, raw, ev) },
          ev.source.displayName || ev.source.id || "(unknown)")),
        h("td", {}, capitalize(ev.action)),
        h("td", {}, badge(capitalize(ev.status))),
        h("td", { class: "wide mono" }, ev.target.id || ""),
        h("td", { class: "wide mono" }, ev.cycleId ? ev.cycleId.slice(0, 8) : "on demand"));
      tr.addEventListener("click", e => { if (!e.target.closest("button")) open(tr, raw, ev); });
      return tr;
    });
    const next = page["@odata.nextLink"];
    replace(list,
      local && h("p", { class: "hint", id: "local-filter" }, "This server filters logs by job only; the other filters are applied to each page here."),
      rows.length ? h("div", { class: "scroll" }, h("table", { id: "logs" },
        h("thead", {}, h("tr", {}, h("th", {}, "Time"), h("th", {}, "Identity"), h("th", {}, "Action"), h("th", {}, "Status"),
          h("th", { class: "wide" }, "Target id"), h("th", { class: "wide" }, "Cycle"))),
        h("tbody", {}, rows)))
        : empty(page.value.length ? "No event on this page matches the filters; try the next page." : "No provisioning events match the filters."),
      h("nav", { class: "pager", "aria-label": "Pages" },
        h("button", { type: "button", class: "secondary", id: "prev", disabled: pages.length <= 1, onclick: () => { pages.pop(); show(pages.pop()); } }, "Previous"),
        h("span", { class: "muted" }, "Page " + (pages.length + 1)),
        h("button", { type: "button", class: "secondary", id: "next", disabled: !next, onclick: () => show(next) }, "Next")));
    pages.push(link);
  };

  const open = (tr, raw, ev) => {
    for (const r of list.querySelectorAll("tr[aria-selected]")) r.removeAttribute("aria-selected");
    tr.setAttribute("aria-selected", "true");
    layout.classList.add("open");
    pane.hidden = false;
    replace(pane, h("div", { class: "card" },
      h("div", { class: "pane-head" },
        h("h2", { id: "detail-h", tabindex: "-1" }, ev.source.displayName || ev.source.id || "Event"),
        h("button", { type: "button", class: "secondary", onclick: () => { pane.hidden = true; layout.classList.remove("open"); tr.querySelector("button").focus(); } }, "Close")),
      h("p", {}, badge(capitalize(ev.status)), " ", capitalize(ev.action), " · ", time(ev.time)),
      ev.errorCode && h("div", { class: "alert error" },
        h("p", {}, h("strong", {}, ev.errorCode), ": ", ev.reason || ""),
        ev.additionalDetails && h("p", {}, ev.additionalDetails),
        ev.recommendedAction && h("p", {}, h("strong", {}, "Recommended action: "), ev.recommendedAction)),
      h("h3", {}, "Steps"), stepsView(ev.steps),
      h("h3", {}, "Modified properties"), modifiedView(ev.modified),
      h("h3", {}, "Identities"),
      kv({ "Source": `${ev.source.displayName || ""} (${ev.source.id || "?"}) in ${ev.sourceSystem || "?"}`,
        "Target": `${ev.target.id || "none"} in ${ev.targetSystem || "?"}`, "Job": ev.jobId || raw.jobId,
        "Cycle": ev.cycleId || "on demand", "Change": ev.changeId, "Event id": ev.id })));
    pane.querySelector("h2").focus();
  };

  await show(firstLink(serverFilter));
}

function firstLink(filter) {
  return "/v1.0/auditLogs/provisioning?$top=50" + (filter ? "&$filter=" + encodeURIComponent(filter) : "");
}

function jobOnly(f) { return f.jobId ? `jobId eq ${graphQuote(f.jobId)}` : ""; }

// v10Filter is the $filter Graph's v1.0 provisioningObjectSummary takes.
function v10Filter(f) {
  const c = [];
  if (f.jobId) c.push(`jobId eq ${graphQuote(f.jobId)}`);
  if (f.from) c.push(`activityDateTime ge ${new Date(f.from).toISOString()}`);
  if (f.to) c.push(`activityDateTime le ${new Date(f.to).toISOString()}`);
  if (f.status) c.push(`provisioningStatusInfo/status eq ${graphQuote(f.status.toLowerCase())}`);
  if (f.action) c.push(`provisioningAction eq ${graphQuote(f.action[0].toLowerCase() + f.action.slice(1))}`);
  if (f.cycleId) c.push(`cycleId eq ${graphQuote(f.cycleId)}`);
  if (f.identity) c.push(`(startswith(sourceIdentity/displayName,${graphQuote(f.identity)}) or sourceIdentity/id eq ${graphQuote(f.identity)} or targetIdentity/id eq ${graphQuote(f.identity)})`);
  return c.join(" and ");
}

// matches applies the filters to one event, for servers that filter by job
// only.
function matches(ev, f) {
  const eq = (a, b) => String(a || "").toLowerCase() === String(b || "").toLowerCase();
  const t = ev.time ? new Date(ev.time) : null;
  if (f.from && !(t && t >= new Date(f.from))) return false;
  if (f.to && !(t && t <= new Date(f.to))) return false;
  if (f.status && !eq(ev.status, f.status)) return false;
  if (f.action && !eq(ev.action, f.action)) return false;
  if (f.cycleId && !eq(ev.cycleId, f.cycleId)) return false;
  if (f.identity) {
    const id = f.identity.toLowerCase();
    const name = String(ev.source.displayName || "").toLowerCase();
    if (!name.startsWith(id) && !eq(ev.source.id, id) && !eq(ev.target.id, id)) return false;
  }
  return true;
}
