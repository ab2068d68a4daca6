// The Graph API, called as any client calls it; the session cookie
// authenticates, and every write carries the session's CSRF token.

let csrf = "";

// root is the path provisiond is reached under ("/", or "/graph/" behind a
// proxy): the page's <base> is root + "portal/".
export const root = new URL("..", document.baseURI).pathname;

// at turns a path of provisiond ("/v1.0/...", "/portal/...") into one
// under root.
export function at(path) { return path.startsWith("/") ? root + path.slice(1) : path; }

export function setCSRF(token) { csrf = token || ""; }

// GraphError is a Graph error envelope, with the HTTP status and, for a
// 429, when the next call is allowed.
export class GraphError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // Date or null
  }
}

// call sends a request to a path of provisiond ("/v1.0/..." or
// "/portal/...") and returns the decoded JSON answer (null for 204).
export async function call(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(at(path), {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new GraphError(0, "NetworkError", "provisiond could not be reached: " + e.message, null);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    let retryAfter = null;
    const ra = res.headers.get("Retry-After");
    if (ra) {
      const secs = Number(ra);
      retryAfter = Number.isFinite(secs) ? new Date(Date.now() + secs * 1000) : new Date(ra);
    }
    throw new GraphError(res.status, err.code || "HTTP" + res.status,
      err.message || `provisiond answered ${res.status} ${res.statusText}`, retryAfter);
  }
  return data;
}

// get follows a path of provisiond or an @odata.nextLink, which the server
// builds absolute, root included, from its public URL: only its path and
// query are taken, so it is fetched from this origin.
export function get(pathOrLink) {
  if (pathOrLink.startsWith("/")) return call("GET", pathOrLink);
  const u = new URL(pathOrLink);
  return call("GET", location.origin + u.pathname + u.search);
}

// graphQuote quotes s as an OData string literal.
export function graphQuote(s) { return "'" + String(s).replaceAll("'", "''") + "'"; }
