// The provisioning job of an application: status, start / pause /
// restart, credentials, mappings and scoping filters.
import { call } from "./api.js";
import { h, replace, errorBox, empty, badge, time, isZero, announce } from "./ui.js";

// What each resetScope of restart does (Graph's synchronizationJobRestartScope).
const resetScopes = [
  ["Watermark", "Forget where the last cycle stopped: the next cycle is a full one over every object in scope."],
  ["Escrows", "Drop the objects waiting to be retried after failures."],
  ["QuarantineState", "Lift the quarantine now instead of waiting for the next attempt."],
  ["Full", "Also forget the links to target objects: every object is matched again by its matching attributes."],
  ["ForceDeletes", "Carry out the deletions the accidental-deletions guard held back."],
];

// What to do about each quarantine reason.
const quarantineAdvice = {
  EncounteredQuarantineException: "The target refused the credentials or could not be reached. Fix the endpoint or token under Credentials (saving them tries again at once), then test the connection.",
  EncounteredBaseEscrowThreshold: "Too many objects failed. Read the failures in the provisioning logs, fix their cause, then restart with QuarantineState.",
  EncounteredTotalEscrowThreshold: "Too many objects failed. Read the failures in the provisioning logs, fix their cause, then restart with QuarantineState.",
  EncounteredEscrowProportionThreshold: "Most objects failed. Read the failures in the provisioning logs, fix their cause, then restart with QuarantineState.",
  TooManyDeletes: "A cycle would delete or disable more objects than the job allows. If they are meant to go, restart with ForceDeletes; otherwise fix the scope or assignments and restart.",
};

export async function jobPage(main, spId, jobId) {
  const base = `/v1.0/servicePrincipals/${encodeURIComponent(spId)}/synchronization`;
  const jobPath = `${base}/jobs/${encodeURIComponent(jobId)}`;
  const statusBox = h("section", { class: "card", id: "status", "aria-labelledby": "status-h" });
  const controlsMsg = h("div", { id: "controls-result", "aria-live": "polite" });
  let sp = { displayName: spId };
  try { sp = await call("GET", `/v1.0/servicePrincipals/${encodeURIComponent(spId)}`); } catch { /* the name is a nicety */ }

  const act = async (label, method, path, body) => {
    replace(controlsMsg, h("p", { class: "muted" }, label + "…"));
    try {
      await call(method, path, body);
      replace(controlsMsg, h("div", { class: "alert ok", role: "status" }, label + ": done."));
      announce(label + ": done.");
      refresh();
    } catch (e) {
      replace(controlsMsg, errorBox(e, label + " was refused"));
    }
  };
  const scopeBoxes = resetScopes.map(([name, what]) => h("label", { class: "inline" },
    h("input", { type: "checkbox", name: "resetScope", value: name, checked: name !== "Full" && name !== "ForceDeletes" }),
    h("span", {}, h("strong", {}, name), h("span", { class: "hint block" }, what))));
  const controls = h("section", { class: "card", "aria-labelledby": "controls-h" },
    h("h2", { id: "controls-h" }, "Provisioning"),
    h("div", { class: "actions" },
      h("button", { type: "button", id: "start", onclick: () => act("Start", "POST", jobPath + "/start") }, "Start provisioning"),
      h("button", { type: "button", id: "pause", class: "secondary", onclick: () => act("Pause", "POST", jobPath + "/pause") }, "Pause"),
      h("a", { href: `/portal/apps/${encodeURIComponent(spId)}/jobs/${encodeURIComponent(jobId)}/ondemand` }, "Provision on demand"),
      h("a", { href: "/portal/logs?jobId=" + encodeURIComponent(jobId) }, "Provisioning logs")),
    controlsMsg,
    h("form", { id: "restart-form", onsubmit: e => {
      e.preventDefault();
      const picked = scopeBoxes.map(l => l.querySelector("input")).filter(i => i.checked).map(i => i.value);
      act("Restart", "POST", jobPath + "/restart", { criteria: { resetScope: picked.length ? picked.join(", ") : "None" } });
    } },
    h("fieldset", {}, h("legend", {}, "Restart: what to reset before the next cycle"), scopeBoxes),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary", id: "restart" }, "Restart"))));

  const crumbs = h("p", { class: "crumbs" }, h("a", { href: "/portal/" }, "Applications"), " › ", sp.displayName);
  replace(main, crumbs, h("h1", {}, sp.displayName + ": provisioning"), statusBox,
    h("div", { class: "grid" }, controls, credentialsCard(base, jobPath)), mappingsCard(jobPath));

  let timer = null, stopped = false;
  async function refresh() {
    clearTimeout(timer);
    try {
      renderStatus(statusBox, await call("GET", jobPath));
    } catch (e) {
      replace(statusBox, h("h2", { id: "status-h" }, "Status"), errorBox(e, "Could not read the job"));
    }
    if (!stopped) timer = setTimeout(refresh, 1000);
  }
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}

function renderStatus(box, job) {
  const s = job.status || {};
  const last = s.lastExecution;
  const q = s.quarantine;
  const running = (s.progress || []).length > 0;
  const steady = !isZero(s.steadyStateLastAchievedTime);
  replace(box,
    h("h2", { id: "status-h" }, "Status ", badge(s.code)),
    q && h("div", { class: "alert warn", role: "alert", id: "quarantine" },
      h("h3", {}, "In quarantine: ", q.reason),
      h("p", {}, quarantineAdvice[q.reason] || "Fix the cause shown below, then restart with QuarantineState."),
      h("dl", { class: "kv" },
        h("dt", {}, "Since"), h("dd", {}, time(q.currentBegan)),
        h("dt", {}, "Next attempt"), h("dd", {}, time(q.nextAttempt)),
        q.error && [h("dt", {}, "Error"), h("dd", {}, (q.error.code ? q.error.code + ": " : "") + (q.error.message || ""))])),
    running ? h("div", { id: "progress" }, (s.progress || []).map(p => {
      const pct = p.totalUnits > 0 ? Math.min(100, Math.round(100 * p.completedUnits / p.totalUnits)) : 0;
      return h("div", { class: "progress-row" },
        h("label", { for: "pg-" + p.units }, `Cycle in progress: ${p.completedUnits} of ${p.totalUnits} ${p.units} (${pct} %)`),
        h("progress", { id: "pg-" + p.units, max: p.totalUnits || 1, value: p.completedUnits }));
    })) : h("p", { id: "steady" }, steady
      ? ["Steady state: every object in scope is in sync since ", time(s.steadyStateFirstAchievedTime), "; last confirmed ", time(s.steadyStateLastAchievedTime), "."]
      : h("span", { class: "muted" }, "No cycle has reached steady state yet.")),
    h("dl", { class: "kv" },
      h("dt", {}, "Schedule"), h("dd", {}, job.schedule.state + (job.schedule.state === "Active" ? ", every " + job.schedule.interval : "")),
      h("dt", {}, "Last cycle"), h("dd", { id: "last-cycle" }, last ? [badge(last.state), " ended ", time(last.timeEnded)] : h("span", { class: "muted" }, "none yet")),
      last && [
        h("dt", {}, "Counts"), h("dd", { id: "counts" },
          `${last.countImported} imported, ${last.countEntitled} in scope, ${last.countExported} exported, ${last.countEscrowed} escrowed`),
        last.error && [h("dt", {}, "Error"), h("dd", {}, last.error.code + ": " + last.error.message)]],
      (s.synchronizedEntryCountByType || []).length > 0 && [h("dt", {}, "In sync"),
        h("dd", {}, s.synchronizedEntryCountByType.map(c => `${c.value} ${c.key}`).join(", "))]));
}

function credentialsCard(base, jobPath) {
  const setKeys = h("div", { class: "chips", id: "secret-keys" }, h("span", { class: "muted" }, "Loading…"));
  const out = h("div", { id: "credentials-result", "aria-live": "polite" });
  const url = h("input", { type: "url", id: "base-address", name: "BaseAddress", autocomplete: "off", placeholder: "https://app.example.com/scim/v2" });
  const tok = h("input", { type: "password", id: "secret-token", name: "SecretToken", autocomplete: "new-password" });
  const load = async () => {
    try {
      const keys = (await call("GET", base + "/secrets")).value.map(p => p.key);
      replace(setKeys, keys.length ? keys.map(k => h("span", { class: "chip" }, k + " is set")) : h("span", { class: "muted" }, "No credentials are saved."));
    } catch (e) {
      replace(setKeys, h("span", { class: "muted" }, "Cannot tell which keys are set (" + e.code + ")."));
    }
  };
  const entered = () => [["BaseAddress", url.value.trim()], ["SecretToken", tok.value]]
    .filter(([, v]) => v !== "").map(([key, value]) => ({ key, value }));
  const form = h("form", { onsubmit: async e => {
    e.preventDefault();
    const value = entered();
    if (value.length < 2) { replace(out, h("div", { class: "alert error", role: "alert" }, "Enter both the tenant URL and the secret token: saving replaces every saved secret.")); return; }
    try {
      await call("PUT", base + "/secrets", { value });
      tok.value = "";
      replace(out, h("div", { class: "alert ok", role: "status" }, "Credentials saved."));
      load();
    } catch (err) { replace(out, errorBox(err, "Saving the credentials was refused")); }
  } },
  h("label", { for: "base-address" }, "Tenant URL (BaseAddress)"), url,
  h("label", { for: "secret-token" }, "Secret token (SecretToken)"), tok,
  h("p", { class: "hint" }, "Secrets are write-only: saved values are never shown. Saving replaces the whole set."),
  h("div", { class: "actions" },
    h("button", { type: "submit", id: "save-credentials" }, "Save"),
    h("button", { type: "button", class: "secondary", id: "test-connection", onclick: async () => {
      const value = entered();
      const body = value.length ? { useSavedCredentials: false, credentials: value } : { useSavedCredentials: true };
      replace(out, h("p", { class: "muted" }, "Testing the connection…"));
      try {
        await call("POST", jobPath + "/validateCredentials", body);
        replace(out, h("div", { class: "alert ok", role: "status" }, (value.length ? "The entered" : "The saved") + " credentials work: the target answered."));
      } catch (err) { replace(out, errorBox(err, "Test connection failed")); }
    } }, "Test connection")), out);
  load();
  return h("section", { class: "card", "aria-labelledby": "cred-h" }, h("h2", { id: "cred-h" }, "Credentials"),
    setKeys, form);
}

function mappingsCard(jobPath) {
  const box = h("section", { class: "card", id: "mappings", "aria-labelledby": "map-h" }, h("h2", { id: "map-h" }, "Mappings"),
    h("p", { class: "muted" }, "Loading…"));
  call("GET", jobPath + "/schema").then(schema => {
    const maps = (schema.synchronizationRules || []).flatMap(r => r.objectMappings || []);
    replace(box, h("h2", { id: "map-h" }, "Mappings"), maps.length ? maps.map(objectMapping) : empty("This job has no object mappings."));
  }, e => replace(box, h("h2", { id: "map-h" }, "Mappings"), errorBox(e, "Could not read the schema")));
  return box;
}

function objectMapping(m) {
  const groups = ((m.scope || {}).groups || []);
  return h("details", { class: "step", open: m.enabled },
    h("summary", {}, h("strong", {}, `${m.sourceObjectName} → ${m.targetObjectName}`), badge(m.enabled ? "Active" : "Paused"),
      h("span", { class: "muted" }, "flows: " + (m.flowTypes || "") + ` · ${(m.attributeMappings || []).length} attributes`)),
    h("div", {},
      h("h3", {}, "Scoping filters"),
      groups.length ? h("ul", {}, groups.map(g => h("li", {}, h("strong", {}, g.name || "Group"), " (all must hold): ",
        (g.clauses || []).map((c, i) => [i ? " AND " : "", h("code", {},
          `${c.sourceOperandName} ${c.operatorName} ${((c.targetOperand || {}).values || []).map(v => JSON.stringify(v)).join(", ")}`)]))))
        : h("p", { class: "muted" }, "None: every assigned object is in scope." + (groups.length ? "" : "")),
      groups.length > 1 && h("p", { class: "hint" }, "An object is in scope when any one group holds."),
      h("h3", {}, "Attribute mappings"),
      h("div", { class: "scroll" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "Source"), h("th", {}, "Target"), h("th", {}, "Matching"), h("th", {}, "Apply"))),
        h("tbody", {}, (m.attributeMappings || []).map(a => h("tr", {},
          h("td", { class: "mono" }, sourceText(a.source)),
          h("td", { class: "mono" }, a.targetAttributeName),
          h("td", {}, a.matchingPriority > 0 ? "priority " + a.matchingPriority : "—"),
          h("td", {}, flowText(a.flowType)))))))));
}

function sourceText(s) {
  if (!s) return "";
  if (s.type === "Constant") return JSON.stringify(s.name ?? s.expression);
  return s.expression || s.name || "";
}

function flowText(f) {
  return { Always: "always", ObjectAddOnly: "on create only", MultiValueAddOnly: "add values only", ValueAddOnly: "when empty", AttributeAddOnly: "when absent" }[f] || f;
}
