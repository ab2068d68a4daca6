// Provision on demand: pick a user, or a group with up to 5 members, run
// it (or a dry run), and read the answer as Entra's page shows it.
import { call, graphQuote } from "./api.js";
import { h, replace, errorBox, empty, badge, stepsView, modifiedView, normalizeEvent, timeText, capitalize } from "./ui.js";

const maxMembers = 5;

export async function onDemandPage(main, spId, jobId) {
  const base = `/v1.0/servicePrincipals/${encodeURIComponent(spId)}/synchronization`;
  const jobPath = `${base}/jobs/${encodeURIComponent(jobId)}`;
  let sp = { displayName: spId };
  try { sp = await call("GET", `/v1.0/servicePrincipals/${encodeURIComponent(spId)}`); } catch { /* the name is a nicety */ }
  let ruleId = null;
  const picked = { subject: null, members: new Set() };
  let retryTimer = null;

  const kind = h("select", { id: "kind", name: "kind" }, h("option", { value: "users" }, "Users"), h("option", { value: "groups" }, "Groups"));
  const q = h("input", { type: "search", id: "q", name: "q", autocomplete: "off", placeholder: "Name starts with…", "aria-describedby": "q-hint" });
  const results = h("div", { id: "results", "aria-live": "polite" });
  const membersBox = h("div", { id: "members" });
  const out = h("div", { id: "ondemand-result" });
  const runBtn = h("button", { type: "button", id: "run", disabled: true, onclick: () => run(false) }, "Provision");
  const dryBtn = h("button", { type: "button", id: "dryrun", class: "secondary", disabled: true, onclick: () => run(true) }, "Dry run");
  const wait = h("p", { id: "retry", role: "status" });

  const search = async e => {
    e && e.preventDefault();
    const text = q.value.trim();
    const filter = text ? `?$filter=startswith(displayName,${graphQuote(text)})&$top=20` : "?$top=20";
    replace(results, h("p", { class: "muted" }, "Searching…"));
    try {
      const items = (await call("GET", `/v1.0/${kind.value}${filter}`)).value;
      if (!items.length) { replace(results, empty(`No ${kind.value} match “${text}”.`)); return; }
      replace(results, h("fieldset", {}, h("legend", {}, `Pick one of ${items.length} ${kind.value}`),
        h("ul", { class: "results" }, items.map(o => h("li", {}, h("label", { class: "inline" },
          h("input", { type: "radio", name: "subject", value: o.id, onchange: () => pick(o) }),
          h("span", {}, h("strong", {}, o.displayName), " ", h("span", { class: "muted" }, o.userPrincipalName || o.mailNickname || o.id))))))));
    } catch (err) { replace(results, errorBox(err, "Search failed")); }
  };

  const pick = async o => {
    picked.subject = { id: o.id, type: kind.value === "groups" ? "Group" : "User", name: o.displayName };
    picked.members.clear();
    runBtn.disabled = dryBtn.disabled = false;
    replace(membersBox);
    if (picked.subject.type !== "Group") return;
    try {
      const members = (await call("GET", `/v1.0/groups/${encodeURIComponent(o.id)}/members?$top=100`)).value
        .filter(m => !m["@odata.type"] || m["@odata.type"] === "#microsoft.graph.user");
      const boxes = [];
      const limit = () => {
        for (const b of boxes) b.disabled = !b.checked && picked.members.size >= maxMembers;
      };
      replace(membersBox, members.length ? h("fieldset", {}, h("legend", {}, `Members to provision with the group (up to ${maxMembers})`),
        members.map(m => {
          const b = h("input", { type: "checkbox", name: "member", value: m.id, onchange: () => {
            if (b.checked) picked.members.add(m.id); else picked.members.delete(m.id);
            limit();
          } });
          boxes.push(b);
          return h("label", { class: "inline" }, b, h("span", {}, m.displayName, " ", h("span", { class: "muted" }, m.userPrincipalName || m.id)));
        })) : h("p", { class: "muted" }, "The group has no user members: only the group is provisioned."));
    } catch (err) { replace(membersBox, errorBox(err, "Could not list the members")); }
  };

  const run = async dry => {
    if (!picked.subject) return;
    replace(out, h("p", { class: "muted" }, dry ? "Dry run…" : "Provisioning…"));
    try {
      if (!ruleId) {
        const schema = await call("GET", jobPath + "/schema");
        ruleId = schema.synchronizationRules[0].id;
      }
      const subject = { objectId: picked.subject.id, objectTypeName: picked.subject.type };
      if (picked.subject.type === "Group" && picked.members.size) {
        subject.links = { members: [...picked.members].map(id => ({ objectId: id, objectTypeName: "User" })) };
      }
      const ans = await call("POST", jobPath + "/provisionOnDemand" + (dry ? "?dryRun=true" : ""),
        { parameters: [{ ruleId, subjects: [subject] }] });
      replace(out, answerView(ans, dry));
    } catch (err) {
      replace(out, errorBox(err, dry ? "The dry run was refused" : "Provisioning was refused"));
      if (err.status === 429 && err.retryAfter) waitUntil(err.retryAfter);
    }
  };

  // waitUntil disables the buttons until the rate limit allows a call.
  const waitUntil = at => {
    clearInterval(retryTimer);
    runBtn.disabled = dryBtn.disabled = true;
    const tick = () => {
      const secs = Math.ceil((at - Date.now()) / 1000);
      if (secs <= 0) {
        clearInterval(retryTimer);
        replace(wait, "You can provision again now.");
        runBtn.disabled = dryBtn.disabled = !picked.subject;
        return;
      }
      replace(wait, `Too many calls: the next one is allowed at ${timeText(at)} (in ${secs} s).`);
    };
    tick();
    retryTimer = setInterval(tick, 1000);
  };

  replace(main,
    h("p", { class: "crumbs" }, h("a", { href: "/portal/" }, "Applications"), " › ",
      h("a", { href: `/portal/apps/${encodeURIComponent(spId)}/jobs/${encodeURIComponent(jobId)}` }, sp.displayName), " › Provision on demand"),
    h("h1", {}, "Provision on demand"),
    h("section", { class: "card" },
      h("form", { id: "search-form", onsubmit: search },
        h("div", { class: "filters" },
          h("div", {}, h("label", { for: "kind" }, "Look for"), kind),
          h("div", {}, h("label", { for: "q" }, "Name"), q),
          h("div", {}, h("button", { type: "submit", id: "search" }, "Search"))),
        h("p", { class: "hint", id: "q-hint" }, "Users and groups whose display name starts with the text; leave it empty to list the first ones.")),
      results, membersBox,
      h("div", { class: "actions" }, runBtn, dryBtn,
        h("span", { class: "hint" }, "A dry run shows what would be done and changes nothing.")),
      wait),
    out);
  q.focus();
  return () => clearInterval(retryTimer);
}

// answerView renders Graph's key/value answer: the outcome, the steps, the
// modified properties and the error with what to do.
function answerView(ans, dry) {
  let key = {}, ev = {};
  try { key = JSON.parse(ans.key); } catch { key = { result: ans.key }; }
  try { ev = normalizeEvent(JSON.parse(ans.value)); } catch { ev = normalizeEvent({}); }
  const d = key.details || {};
  const failed = key.result === "Failure";
  return h("section", { class: "card", "aria-labelledby": "answer-h" },
    h("h2", { id: "answer-h" }, dry ? "Dry run: " : "Result: ", h("span", { id: "outcome" }, badge(key.result)),
      d.errorCode ? h("span", { id: "outcome-code" }, " ", d.errorCode) : null),
    h("dl", { class: "kv" },
      h("dt", {}, "Action"), h("dd", { id: "action" }, capitalize(ev.action) || "—"),
      h("dt", {}, "Source"), h("dd", {}, (ev.source.displayName || ev.source.id || "—") + (ev.sourceSystem ? " in " + ev.sourceSystem : "")),
      h("dt", {}, "Target"), h("dd", {}, (ev.target.id || "not created") + (ev.targetSystem ? " in " + ev.targetSystem : ""))),
    (failed || d.errorMessage) && h("div", { class: failed ? "alert error" : "alert warn", role: failed ? "alert" : "status", id: "outcome-error" },
      h("p", {}, h("strong", {}, d.errorCode || ev.errorCode || key.result), ": ", d.errorMessage || ev.reason || ""),
      ev.additionalDetails && h("p", {}, ev.additionalDetails),
      ev.recommendedAction && h("p", {}, h("strong", {}, "Recommended action: "), ev.recommendedAction)),
    h("h3", {}, "Steps"), stepsView(ev.steps),
    h("h3", {}, "Modified properties"), modifiedView(ev.modified));
}
