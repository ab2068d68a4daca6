// Small DOM helpers shared by the pages.
import { at } from "./api.js";

// h builds an element: h("a", {href: "/portal/x"}, "text", child, ...).
// Strings become text nodes (never HTML), null and false are skipped; an
// href of provisiond ("/portal/...") is put under its root.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "href") el.setAttribute(k, at(String(v)));
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// replace empties el and appends children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

// isZero tells Go's and .NET's zero times ("0001-01-01...") from real ones.
export function isZero(t) { return !t || t.startsWith("0001-01-01"); }

// time shows an ISO time in the viewer's zone, in a <time> element.
export function time(t) {
  if (isZero(t)) return h("span", { class: "muted" }, "never");
  const d = new Date(t);
  if (isNaN(d)) return h("span", {}, t);
  return h("time", { datetime: d.toISOString(), title: zone }, fmt.format(d));
}

export function timeText(d) { return fmt.format(d); }

export function badge(text) {
  return h("span", { class: "badge " + String(text || "").replace(/[^A-Za-z]/g, "") }, text || "—");
}

// errorBox shows an API error: its code, message and what the status
// means for the viewer.
export function errorBox(err, title) {
  const hint = err.status === 403 ? "The signed-in token lacks the permission this needs."
    : err.status === 401 ? "Your session has ended; sign in again." : null;
  return h("div", { class: "alert error", role: "alert" },
    h("h3", {}, title || "The request failed"),
    h("p", {}, h("strong", {}, String(err.status || ""), " ", err.code || ""), ": ", err.message),
    hint && h("p", {}, hint));
}

export function empty(text) { return h("p", { class: "empty" }, text); }

export function announce(text) {
  const live = document.getElementById("live");
  if (live) live.textContent = text;
}

// kv renders an object's fields as a definition list.
export function kv(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h("p", { class: "muted" }, "No details.");
  return h("dl", { class: "kv" }, entries.map(([k, v]) => [h("dt", {}, k), h("dd", {}, fmtValue(v))]));
}

export function fmtValue(v) {
  if (v === null || v === undefined) return h("span", { class: "muted" }, "(none)");
  if (typeof v === "object") return h("code", {}, JSON.stringify(v));
  return String(v);
}

// stepsView renders provisioning steps as expandable elements.
export function stepsView(steps) {
  if (!steps || !steps.length) return empty("No steps were recorded.");
  return h("div", { class: "steps" }, steps.map((s, i) => h("details", { class: "step", "data-step": s.name },
    h("summary", {}, h("span", {}, `${i + 1}.`), badge(s.status), h("strong", {}, stepTitle(s)),
      h("span", { class: "muted" }, s.description || s.name)),
    h("div", {}, h("p", { class: "hint" }, `${s.name} (${s.provisioningStepType || s.type || ""}) at `, time(s.timestamp)),
      kv(s.details)))));
}

// stepTitle is the name the Entra page gives each step type.
function stepTitle(s) {
  const type = String(s.provisioningStepType || s.type || "").toLowerCase();
  return { import: "Import", scoping: "Determine if in scope", matching: "Match", processing: "Process",
    referenceresolution: "Resolve references", export: "Perform action" }[type] || s.name;
}

// modifiedView renders modified properties as old → new.
export function modifiedView(props) {
  if (!props || !props.length) return empty("No properties were modified.");
  return h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, "Property"), h("th", {}, "Old value"), h("th", {}, ""), h("th", {}, "New value"))),
    h("tbody", {}, props.map(p => h("tr", {},
      h("td", { class: "mono" }, p.displayName),
      h("td", { class: p.oldValue == null ? "muted" : "old" }, p.oldValue == null ? "(none)" : p.oldValue),
      h("td", { class: "arrow", "aria-label": "becomes" }, "→"),
      h("td", { class: p.newValue == null ? "muted" : "new" }, p.newValue == null ? "(none)" : p.newValue))))));
}

// normalizeEvent reads a provisioning event in Graph's v1.0
// provisioningObjectSummary shape or in the older one (the on-demand
// answer, and provisioning logs before v1.0).
export function normalizeEvent(e) {
  const si = e.provisioningStatusInfo || e.statusInfo || {};
  const ei = si.errorInformation || si;
  return {
    id: e.id, jobId: e.jobId, cycleId: e.cycleId, changeId: e.changeId,
    time: e.activityDateTime || e.endTime || e.startTime,
    duration: e.durationInMilliseconds,
    action: e.provisioningAction || e.action || "",
    status: si.status || "",
    errorCode: ei.errorCode, reason: ei.reason, additionalDetails: ei.additionalDetails,
    errorCategory: ei.errorCategory, recommendedAction: ei.recommendedAction,
    steps: e.provisioningSteps || [], modified: e.modifiedProperties || [],
    source: e.sourceIdentity || {}, target: e.targetIdentity || {},
    sourceSystem: systemName(e.sourceSystem), targetSystem: systemName(e.targetSystem),
    initiatedBy: e.initiatedBy,
  };
}

// systemName is a provisioningSystem's name: displayName in v1.0 logs,
// name in the older event shape.
function systemName(s) { return s ? s.displayName || s.name : undefined; }

// capitalize shows "create" (v1.0) and "Create" (older) alike.
export function capitalize(s) { return s ? s[0].toUpperCase() + s.slice(1) : s; }
