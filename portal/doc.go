// Package portal serves the admin pages under /portal/: plain HTML, CSS and
// JavaScript modules embedded in the binary, which call the same Graph API
// (/v1.0) as any client. A signed-in page holds a session cookie that
// carries its bearer token sealed with the data directory's key; Session
// authenticates the page's API calls through the same authenticator as a
// bearer token, so the page may do exactly what its token may, and checks
// the CSRF header on every write.
package portal
