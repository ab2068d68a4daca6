package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"provisiond/connector/scim/scimtest"
	"provisiond/portal"
	"provisiond/secrets"
	"provisiond/store"
	"provisiond/throttle"
)

// chromiumPath is Debian's chromium (scripts/components/chromium.sh).
const chromiumPath = "/usr/bin/chromium"

// browser is one headless Chromium tab at 1280×800.
type browser struct {
	ctx context.Context
	t   *testing.T
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		msg := "the admin pages' browser tests need Chromium: run scripts/components/chromium.sh (" + err.Error() + ")"
		if os.Getenv("PROVISIOND_COMPONENTS") == "required" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "en-US"), chromedp.WindowSize(1280, 800))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	// The first action starts the browser, on a context without a
	// deadline: a deadline's end would close the browser too.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	return &browser{ctx: ctx, t: t}
}

// do runs actions, failing the test with what the page shows.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v; the page shows:\n%s", err, b.pageText())
	}
}

// wait waits until the JavaScript expression is true.
func (b *browser) wait(expr string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.t.Fatalf("waiting for %s: %v; the page (%s) shows:\n%s", expr, err, b.location(), b.pageText())
	}
}

// waitText waits until the element sel exists and its text contains want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	w, _ := json.Marshal(want)
	b.wait(`(document.querySelector(`+string(q)+`)?.innerText || "").includes(`+string(w)+`)`, 15*time.Second)
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector(`+string(q)+`)?.innerText || ""`))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

func (b *browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Location())
	return s
}

// shot saves a PNG of the viewport as dir/name.png: docs/screenshots with
// -update, a temporary directory otherwise. The page is scrolled to its
// top, or to the element of the selector in view, if given.
func (b *browser) shot(dir, name string, width int, in ...string) {
	b.t.Helper()
	b.labelled()
	scroll := `(window.scrollTo(0, 0), true)`
	if len(in) > 0 {
		q, _ := json.Marshal(in[0])
		scroll = `(document.querySelector(` + string(q) + `).scrollIntoView({block: "center"}), true)`
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](scroll)); err != nil {
		b.t.Fatal(err)
	}
	img, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil || cfg.Width != width {
		b.t.Fatalf("screenshot %s: %v, %d px wide; want a PNG %d px wide", name, err, cfg.Width, width)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), img, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// labelled fails the test when a form control of the page has no label,
// or when the page loaded anything from another origin.
func (b *browser) labelled() {
	b.t.Helper()
	bad, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("input, select, textarea")]
		.filter(el => el.type !== "hidden" && !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
		.map(el => el.outerHTML)`))
	if err != nil {
		b.t.Fatal(err)
	}
	if len(bad) > 0 {
		b.t.Errorf("form controls without a label on %s: %v", b.location(), bad)
	}
	// Everything the page loaded or called came from provisiond.
	elsewhere, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`performance.getEntriesByType("resource")
		.map(e => e.name).filter(u => new URL(u).origin !== location.origin)`))
	if err != nil {
		b.t.Fatal(err)
	}
	if len(elsewhere) > 0 {
		b.t.Errorf("%s loaded from elsewhere: %v", b.location(), elsewhere)
	}
}

func screenshotDir(t *testing.T) string {
	if !*update {
		return t.TempDir()
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPortal drives the admin pages in a real headless Chromium against
// the production wiring: sign in, provision on demand (Success, then
// RedundantExport), start the job and watch it reach steady state, find
// the events in the logs, sign out, and sign in with a read-only token's
// one-time link, whose start button gets Graph's 403.
func TestPortal(t *testing.T) {
	b := newBrowser(t)
	// While slow is set, the target takes its time over each create, so
	// that the cycle runs long enough for its progress to show.
	var slow atomic.Bool
	// While refuse is set, the target refuses creates.
	var refuse atomic.Bool
	// Four provisionOnDemand calls a minute: the fifth shows the 429.
	e := newEnv(t, options{limit: throttle.New(4, time.Minute, nil), disrupt: func(r *http.Request) scimtest.Disruption {
		creates := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Users")
		switch {
		case creates && refuse.Load():
			return scimtest.Disruption{Status: http.StatusBadRequest}
		case creates && slow.Load():
			return scimtest.Disruption{Delay: 3 * time.Second}
		}
		return scimtest.Disruption{}
	}})
	e.setupApp()
	ada, _ := e.user("Ada", "Lovelace")
	e.assign(ada)
	linus, _ := e.user("Linus", "Torvalds")
	e.assign(linus)
	var graces []string
	for range 9 { // provisioned by the cycle, 8 at a time
		id, _ := e.user("Grace", "Hopper")
		e.assign(id)
		graces = append(graces, id)
	}
	e.assign(e.group("Engineers", graces[:6]...))
	shots := screenshotDir(t)
	jobPage := "/portal/apps/" + e.spID + "/jobs/" + e.jobID
	// Each step needs the ones before it.
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, func(t *testing.T) { b.t = t; f(t) }) {
			t.FailNow()
		}
	}

	step("sign in with a pasted token", func(t *testing.T) {
		b.do(chromedp.Navigate(e.url + "/"))
		b.wait(`location.pathname === "/portal/signin" && !!document.querySelector("#token")`, 10*time.Second)
		b.shot(shots, "signin", 1280)
		b.do(chromedp.SetValue(chromedp.ID("token"), e.token), chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)))
		b.waitText("#apps", "E2E SCIM App")
		b.waitText("#who-name", "e2e-admin")
		b.shot(shots, "applications", 1280)
	})

	step("job page: credentials set, mappings readable", func(t *testing.T) {
		b.do(chromedp.Click(chromedp.CSS(`#apps a[href="` + jobPage + `"]`)))
		b.waitText("#status", "NotRun")
		b.waitText("#secret-keys", "BaseAddress is set")
		b.waitText("#secret-keys", "SecretToken is set")
		if got := b.text("#secret-keys"); strings.Contains(got, e.scimTok) || strings.Contains(got, e.scimURL) {
			t.Errorf("the credentials card shows a secret value: %q", got)
		}
		b.waitText("#mappings", "User → User")
		b.waitText("#mappings", "userPrincipalName")
		b.waitText("#mappings", "priority 1")
		b.do(chromedp.Click(chromedp.ID("test-connection")))
		b.waitText("#credentials-result", "The saved credentials work")
	})

	step("provision on demand: Success with its steps, then RedundantExport", func(t *testing.T) {
		b.do(chromedp.Click(chromedp.CSS(`a[href="` + jobPage + `/ondemand"]`)))
		b.wait(`!!document.querySelector("#q")`, 10*time.Second)
		// By keyboard: type the name and press Enter.
		b.do(chromedp.Focus(chromedp.ID("q")), chromedp.SendKeys(chromedp.ID("q"), "Ada"+kb.Enter))
		b.waitText("#results", "Ada Lovelace")
		b.do(chromedp.Click(chromedp.CSS(`#results input[type=radio]`)))
		b.wait(`!document.querySelector("#run").disabled`, 5*time.Second)
		b.do(chromedp.Click(chromedp.ID("run")))
		b.waitText("#outcome", "Success")
		b.waitText("#action", "Create")
		for _, step := range []string{"Import", "Determine if in scope", "Match", "Perform action"} {
			b.waitText("#ondemand-result .steps", step)
		}
		b.waitText("#ondemand-result table", "userName")
		// A step expands to its details.
		b.do(chromedp.Click(chromedp.CSS(`details.step[data-step="EntryImport"] summary`)))
		b.wait(`document.querySelector('details.step[data-step="EntryImport"]').open`, 5*time.Second)
		b.waitText(`details.step[data-step="EntryImport"]`, "userPrincipalName")
		b.shot(shots, "ondemand", 1280)

		b.do(chromedp.Click(chromedp.ID("run")))
		b.waitText("#outcome-code", "RedundantExport")
		b.waitText("#outcome-error", "already match")

		// A target's refusal: its message and the recommended action.
		refuse.Store(true)
		b.do(chromedp.SetValue(chromedp.ID("q"), "Linus"), chromedp.Click(chromedp.ID("search")))
		b.waitText("#results", "Linus Torvalds")
		b.do(chromedp.Click(chromedp.CSS(`#results input[type=radio]`)), chromedp.Click(chromedp.ID("run")))
		b.waitText("#outcome", "Failure")
		b.waitText("#outcome-error", "injected disruption") // the target's own message
		b.waitText("#outcome-error", "Recommended action")
		refuse.Store(false)
		b.shot(shots, "ondemand-failure", 1280, "#outcome-error")

		// A group with 5 of its 6 members.
		b.do(chromedp.SetValue(chromedp.ID("kind"), "groups"), chromedp.SetValue(chromedp.ID("q"), "Eng"), chromedp.Click(chromedp.ID("search")))
		b.waitText("#results", "Engineers")
		b.do(chromedp.Click(chromedp.CSS(`#results input[type=radio]`)))
		b.wait(`document.querySelectorAll("#members input[type=checkbox]").length === 6`, 10*time.Second)
		for i := 1; i <= 5; i++ {
			b.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#members label:nth-of-type(%d) input`, i))))
		}
		b.wait(`document.querySelectorAll("#members input:checked").length === 5 && document.querySelectorAll("#members input:disabled").length === 1`, 5*time.Second)
		b.do(chromedp.Click(chromedp.ID("run")))
		b.waitText("#outcome", "Success")
		b.waitText("#action", "Create")
		b.waitText("#ondemand-result table", "members")
		b.shot(shots, "ondemand-group", 1280, "#members")

		b.do(chromedp.Click(chromedp.ID("dryrun")))
		b.waitText("#ondemand-result", "429 TooManyRequests")
		b.waitText("#retry", "the next one is allowed at")
		b.wait(`document.querySelector("#run").disabled && document.querySelector("#dryrun").disabled`, 5*time.Second)
	})

	step("start the job and watch it reach steady state", func(t *testing.T) {
		b.do(chromedp.Navigate(e.url + jobPage))
		b.wait(`!!document.querySelector("#start")`, 10*time.Second)
		slow.Store(true)
		b.do(chromedp.Click(chromedp.ID("start")))
		b.waitText("#controls-result", "Start: done")
		b.wait(`!!document.querySelector("#progress progress")`, 10*time.Second)
		b.waitText("#progress", "Cycle in progress")
		b.shot(shots, "job-progress", 1280)
		slow.Store(false)
		b.wait(`(document.querySelector("#steady")?.innerText || "").includes("Steady state")`, 30*time.Second)
		b.waitText("#status", "Active")
		b.waitText("#last-cycle", "Succeeded")
		last := e.do("GET", "/servicePrincipals/"+e.spID+"/synchronization/jobs/"+e.jobID, nil, 200)["status"].(map[string]any)["lastExecution"].(map[string]any)
		b.waitText("#counts", fmt.Sprintf("%v imported, %v in scope, %v exported", last["countImported"], last["countEntitled"], last["countExported"]))
		b.shot(shots, "job", 1280)
	})

	step("find the events in the logs", func(t *testing.T) {
		b.do(chromedp.Click(chromedp.CSS(`a[href="/portal/logs?jobId=` + e.jobID + `"]`)))
		b.waitText("#logs", "Ada Lovelace")
		b.waitText("#logs", "Create")
		b.waitText("#logs", "on demand")
		b.do(chromedp.Click(chromedp.CSS(`#logs tbody tr:last-child button`))) // the oldest: the create
		b.waitText("#log-detail", "Perform action")
		b.waitText("#log-detail", "userName")
		b.waitText("#log-detail", e.jobID)
		b.shot(shots, "logs", 1280)

		// A filter the API answers today (the job), and one it may not
		// (the status), which the page then applies itself.
		b.do(chromedp.Navigate(e.url + "/portal/logs?jobId=" + e.jobID + "&status=Failure"))
		b.waitText("#logs", "Linus Torvalds")
		if got := b.text("#log-list"); strings.Contains(got, "Ada Lovelace") || strings.Contains(got, "Grace Hopper") {
			t.Errorf("status Failure lists successful events:\n%s", got)
		}

		// Times are shown in the viewer's time zone.
		b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
			return err
		}), chromedp.Navigate(e.url+"/portal/logs?jobId="+e.jobID))
		b.waitText("#logs", "Ada Lovelace")
		b.waitText("#log-filters", "Asia/Tokyo")
		b.wait(`(() => {
			const el = document.querySelector("#logs time");
			const f = zone => new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "medium", timeZone: zone}).format(new Date(el.dateTime));
			return el.textContent === f("Asia/Tokyo") && el.textContent !== f("UTC");
		})()`, 5*time.Second)
		b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{})
			return err
		}))

		// A narrow screen: no horizontal scrolling.
		b.do(chromedp.EmulateViewport(390, 844), chromedp.Navigate(e.url+"/portal/logs?jobId="+e.jobID))
		b.waitText("#logs", "Ada Lovelace")
		b.wait(`document.documentElement.scrollWidth <= 390`, 5*time.Second)
		b.shot(shots, "logs-narrow", 390)
		for _, page := range []string{jobPage, jobPage + "/ondemand", "/portal/"} {
			b.do(chromedp.Navigate(e.url + page))
			b.wait(`!!document.querySelector("main h1")`, 10*time.Second)
			b.wait(`document.documentElement.scrollWidth <= 390`, 5*time.Second)
		}
		b.do(chromedp.EmulateViewport(1280, 800))
	})

	step("a quarantined job shows why and what to do", func(t *testing.T) {
		// Set as the jobs service sets it when the target refuses the
		// credentials.
		now := time.Now().UTC()
		_, err := e.st.UpdateJob(t.Context(), e.spID, e.jobID, func(j *store.Job) error {
			j.Status.Code = store.StatusQuarantine
			j.Status.Quarantine = &store.Quarantine{Reason: "EncounteredQuarantineException", CurrentBegan: now,
				NextAttempt: now.Add(10 * time.Minute), SeriesBegan: now, SeriesCount: 1,
				Error: &store.SyncError{Code: "Unauthorized", Message: "The target answered 401 to every call."}}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		b.do(chromedp.Navigate(e.url + jobPage))
		b.waitText("#quarantine", "In quarantine: EncounteredQuarantineException")
		b.waitText("#quarantine", "Fix the endpoint or token under Credentials")
		b.waitText("#quarantine", "The target answered 401 to every call.")
		b.waitText("#quarantine", "Next attempt")
		b.shot(shots, "quarantine", 1280)
	})

	step("sign out", func(t *testing.T) {
		b.do(chromedp.Navigate(e.url + "/portal/"))
		b.waitText("#apps", "E2E SCIM App")
		b.do(chromedp.Click(chromedp.ID("signout")))
		b.wait(`location.pathname === "/portal/signin" && !!document.querySelector("#token")`, 10*time.Second)
		b.do(chromedp.Navigate(e.url + jobPage))
		b.wait(`location.pathname === "/portal/signin"`, 10*time.Second)
	})

	step("a read-only token signs in by link and is refused start", func(t *testing.T) {
		ro, err := e.issuer.MintApp("portal-reader", []string{"Synchronization.Read.All", "Application.Read.All", "AuditLog.Read.All"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		box, err := secrets.LoadOrCreate(e.dir)
		if err != nil {
			t.Fatal(err)
		}
		code, err := portal.NewSignInCode(box, ro, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		link := portal.SignInLink(e.url, code)
		b.do(chromedp.Navigate(link))
		b.waitText("#apps", "E2E SCIM App")
		b.waitText("#who-name", "portal-reader")
		b.do(chromedp.Navigate(e.url + jobPage))
		b.wait(`!!document.querySelector("#start")`, 10*time.Second)
		b.do(chromedp.Click(chromedp.ID("start")))
		b.waitText("#controls-result", "403 Authorization_RequestDenied")
		b.waitText("#controls-result", "Insufficient privileges")
		b.shot(shots, "forbidden", 1280, "#controls-result")

		// The link works once.
		b.do(chromedp.Navigate(link))
		b.waitText("#signin-result", "used already")
	})
}

// TestPortalBehindProxy serves the pages through a reverse proxy that puts
// provisiond under /graph (serve --trust-proxy, X-Forwarded-Prefix): every
// request the pages make stays under the prefix.
func TestPortalBehindProxy(t *testing.T) {
	b := newBrowser(t)
	e := newEnv(t, options{trustProxy: true})
	e.setupApp()
	ada, _ := e.user("Ada", "Lovelace")
	e.assign(ada)
	target := mustURL(t, e.url)
	var mu sync.Mutex
	var outside []string
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, "/graph")
		pr.Out.URL.RawPath = ""
		pr.SetXForwarded()
		pr.Out.Header.Set("X-Forwarded-Prefix", "/graph")
	}}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/graph" && !strings.HasPrefix(r.URL.Path, "/graph/") {
			mu.Lock()
			outside = append(outside, r.Method+" "+r.URL.Path)
			mu.Unlock()
			http.NotFound(w, r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	b.do(chromedp.Navigate(proxy.URL + "/graph/"))
	b.wait(`location.pathname === "/graph/portal/signin" && !!document.querySelector("#token")`, 10*time.Second)
	b.do(chromedp.SetValue(chromedp.ID("token"), e.token), chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)))
	b.waitText("#apps", "E2E SCIM App")
	jobPage := "/graph/portal/apps/" + e.spID + "/jobs/" + e.jobID
	b.do(chromedp.Click(chromedp.CSS(`#apps a[href="` + jobPage + `"]`)))
	b.waitText("#secret-keys", "BaseAddress is set")
	b.do(chromedp.Click(chromedp.CSS(`a[href="` + jobPage + `/ondemand"]`)))
	b.wait(`!!document.querySelector("#q")`, 10*time.Second)
	b.do(chromedp.SetValue(chromedp.ID("q"), "Ada"), chromedp.Click(chromedp.ID("search")))
	b.waitText("#results", "Ada Lovelace")
	b.do(chromedp.Click(chromedp.CSS(`#results input[type=radio]`)), chromedp.Click(chromedp.ID("run")))
	b.waitText("#outcome", "Success")
	b.do(chromedp.Click(chromedp.CSS(`nav a[data-nav="logs"]`)))
	b.waitText("#logs", "Ada Lovelace")
	b.wait(`location.pathname === "/graph/portal/logs"`, 5*time.Second)
	b.do(chromedp.Click(chromedp.ID("signout")))
	b.wait(`location.pathname === "/graph/portal/signin"`, 10*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(outside) > 0 {
		t.Errorf("the pages requested paths outside /graph: %v", outside)
	}
}
