// The admin pages: a router over paths under /portal/, and the session.
import { call, setCSRF, GraphError, root, at } from "./api.js";
import { h, replace, errorBox, empty, badge, announce } from "./ui.js";
import { jobPage } from "./job.js";
import { onDemandPage } from "./ondemand.js";
import { logsPage } from "./logs.js";

const main = document.getElementById("main");
let session = null;
// leave is the current page's clean-up (stops its polling).
let leave = () => {};

const routes = [
  [/^\/portal\/signin$/, () => signInPage()],
  [/^\/portal\/?$/, () => appsPage()],
  [/^\/portal\/apps\/([^/]+)\/jobs\/([^/]+)\/ondemand$/, (sp, job) => onDemandPage(main, sp, job)],
  [/^\/portal\/apps\/([^/]+)\/jobs\/([^/]+)$/, (sp, job) => jobPage(main, sp, job)],
  [/^\/portal\/logs$/, () => logsPage(main, new URLSearchParams(location.search))],
];

// here is the page's path without the root ("/portal/logs").
function here() {
  const p = location.pathname;
  return p.startsWith(root) ? "/" + p.slice(root.length) : p;
}

async function render() {
  leave();
  leave = () => {};
  const path = here();
  if (path !== "/portal/signin" && !session) {
    try {
      session = await call("GET", "/portal/session");
      signedIn(session);
    } catch (e) {
      if (e instanceof GraphError && e.status === 401) {
        history.replaceState(null, "", at("/portal/signin?next=" + encodeURIComponent(path + location.search)));
        return render();
      }
      replace(main, errorBox(e, "Could not read the session"));
      return;
    }
  }
  markNav(path);
  for (const [re, page] of routes) {
    const m = path.match(re);
    if (m) {
      const stop = await page(...m.slice(1).map(decodeURIComponent));
      if (typeof stop === "function") leave = stop;
      const h1 = main.querySelector("h1");
      if (h1) document.title = h1.textContent + " · provisiond";
      return;
    }
  }
  replace(main, h("h1", {}, "Page not found"), empty("There is no page at " + path + "."),
    h("p", {}, h("a", { href: "/portal/" }, "Go to the applications")));
}

function markNav(path) {
  for (const a of document.querySelectorAll("[data-nav]")) {
    const here = a.dataset.nav === "logs" ? path.startsWith("/portal/logs") : !path.startsWith("/portal/logs");
    if (here) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
}

function signedIn(s) {
  setCSRF(s.csrfToken);
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  document.getElementById("who-name").textContent = s.name;
}

// go navigates inside the pages without reloading.
export function go(path) {
  history.pushState(null, "", at(path));
  render().then(() => main.focus());
}

document.addEventListener("click", e => {
  const a = e.target.closest("a[href]");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  if (a.getAttribute("href").startsWith("#")) { // in-page (the skip link): <base> would make it another page
    e.preventDefault();
    document.getElementById(a.getAttribute("href").slice(1))?.focus();
    return;
  }
  const u = new URL(a.href);
  if (u.origin !== location.origin || !u.pathname.startsWith(root + "portal/") || u.pathname.startsWith(root + "portal/assets/")) return;
  if (u.hash && u.pathname === location.pathname && u.search === location.search) return;
  e.preventDefault();
  go("/" + u.pathname.slice(root.length) + u.search);
});
window.addEventListener("popstate", () => render());

document.getElementById("signout").addEventListener("click", async () => {
  try { await call("DELETE", "/portal/session"); } catch (e) { /* the cookie is cleared either way */ }
  session = null;
  setCSRF("");
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  go("/portal/signin");
  announce("Signed out.");
});

function signInPage() {
  const next = new URLSearchParams(location.search).get("next") || "/portal/";
  const target = next.startsWith("/portal/") ? next : "/portal/";
  const out = h("div", { id: "signin-result" });
  const finish = async body => {
    replace(out, h("p", { class: "muted" }, "Signing in…"));
    try {
      session = await call("POST", "/portal/session", body);
      signedIn(session);
      announce("Signed in as " + session.name);
      go(target);
    } catch (e) {
      replace(out, errorBox(e, "Sign-in failed"));
    }
  };
  const code = new URLSearchParams(location.hash.slice(1)).get("code") || new URLSearchParams(location.search).get("code");
  const area = h("textarea", { id: "token", name: "token", required: true, autocomplete: "off", spellcheck: "false",
    "aria-describedby": "token-hint" });
  const form = h("form", { class: "card", id: "signin-form", onsubmit: e => { e.preventDefault(); finish({ token: area.value }); } },
    h("h2", {}, "Sign in with a token"),
    h("label", { for: "token" }, "Bearer token"),
    area,
    h("p", { class: "hint", id: "token-hint" },
      "A token of this server (", h("code", {}, "provisiond token --data DIR --app NAME --roles ..."),
      ") or of its OpenID Connect issuer. The pages may do exactly what the token may. ",
      h("code", {}, "provisiond token ... --web"), " prints a one-time sign-in link instead."),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign in")));
  replace(main, h("h1", {}, "Sign in"), out, code ? null : form);
  if (code) {
    history.replaceState(null, "", at("/portal/signin" + location.search)); // the code is single-use: drop it from the address bar
    finish({ code });
  } else {
    area.focus();
  }
}

async function appsPage() {
  replace(main, h("h1", {}, "Applications"), h("p", { class: "muted" }, "Loading…"));
  let sps;
  try {
    sps = (await call("GET", "/v1.0/servicePrincipals?$top=100")).value;
  } catch (e) {
    replace(main, h("h1", {}, "Applications"), errorBox(e, "Could not list the applications"));
    return;
  }
  const rows = await Promise.all(sps.map(async sp => {
    let jobs = [], err = null;
    try {
      jobs = (await call("GET", `/v1.0/servicePrincipals/${encodeURIComponent(sp.id)}/synchronization/jobs`)).value;
    } catch (e) { err = e; }
    return { sp, jobs, err };
  }));
  const body = rows.length === 0 ? empty("No applications yet. Create one with POST /v1.0/applicationTemplates/{id}/instantiate.")
    : h("div", { class: "card scroll" }, h("table", { id: "apps" },
      h("thead", {}, h("tr", {}, h("th", {}, "Application"), h("th", {}, "Provisioning job"), h("th", {}, "Status"), h("th", { class: "wide" }, "Schedule"))),
      h("tbody", {}, rows.map(({ sp, jobs, err }) => {
        if (err) return h("tr", {}, h("td", {}, sp.displayName), h("td", { colspan: 3 }, h("span", { class: "muted" }, err.code + ": " + err.message)));
        if (!jobs.length) return h("tr", {}, h("td", {}, sp.displayName), h("td", { colspan: 3, class: "muted" }, "No provisioning job"));
        return jobs.map(j => h("tr", {},
          h("td", {}, sp.displayName),
          h("td", {}, h("a", { href: `/portal/apps/${encodeURIComponent(sp.id)}/jobs/${encodeURIComponent(j.id)}` }, j.templateId + " · " + j.id.slice(0, 8))),
          h("td", {}, badge(j.status.code)),
          h("td", { class: "wide" }, j.schedule.state + (j.schedule.state === "Active" ? " every " + j.schedule.interval : ""))));
      }))));
  replace(main, h("h1", {}, "Applications"), body);
}

render();
