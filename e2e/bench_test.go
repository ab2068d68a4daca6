package e2e

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkProvisionOnDemandUser measures provisionOnDemand for one user
// over loopback HTTP against the in-process SCIM server, rate limit off,
// with a real SQLite store. Run with -benchtime=1000x for the p50/p99 over
// 1,000 calls.
func BenchmarkProvisionOnDemandUser(b *testing.B) { benchOnDemandUser(b, options{}) }

// BenchmarkProvisionOnDemandUserPostgres is BenchmarkProvisionOnDemandUser
// with the PostgreSQL store (a database of its own in the test cluster).
func BenchmarkProvisionOnDemandUserPostgres(b *testing.B) {
	benchOnDemandUser(b, options{postgres: true})
}

func benchOnDemandUser(b *testing.B, o options) {
	e := newEnv(b, o)
	e.setupApp()
	id, _ := e.user("Bench", "Mark")
	e.assign(id)
	e.onDemand(userSubject(id)) // create; later calls are the steady state
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		e.onDemand(userSubject(id))
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkOnDemandInSyncVsDirectGET compares, in one run, the in-sync
// provisionOnDemand call (Skipped/RedundantExport: import, scoping, one
// target read, a provisioning log) with one direct filtered GET to the same
// SCIM server, which is the floor any provisioning call pays: the in-process
// SCIM server and SCIMMY (a strict third-party server, as real targets
// answer in about a millisecond). It reports both p50s and their ratio
// (goal: ≤ 1.3 against a real server).
func BenchmarkOnDemandInSyncVsDirectGET(b *testing.B) {
	b.Run("scimtest", func(b *testing.B) { benchInSyncVsDirect(b, newEnv(b, options{})) })
	b.Run("SCIMMY", func(b *testing.B) { benchInSyncVsDirect(b, newEnv(b, options{scimmy: true})) })
}

func benchInSyncVsDirect(b *testing.B, e *env) {
	e.setupApp()
	id, upn := e.user("Bench", "Ratio")
	e.assign(id)
	e.onDemand(userSubject(id))
	client := &http.Client{}
	direct := func() {
		req, _ := http.NewRequest("GET", e.scimURL+"/Users?filter="+urlEscape(`userName eq "`+upn+`"`), nil)
		req.Header.Set("Authorization", "Bearer "+e.scimTok)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("direct GET: %d", resp.StatusCode)
		}
	}
	// The on-demand call is sent and read as the direct GET is: raw bytes,
	// no decoding on the client's side.
	body := []byte(mustJSONString(map[string]any{"parameters": []any{map[string]any{"ruleId": e.ruleID, "subjects": []any{userSubject(id)}}}}))
	onDemandURL := e.url + "/v1.0/servicePrincipals/" + e.spID + "/synchronization/jobs/" + e.jobID + "/provisionOnDemand"
	skipped := []byte(`RedundantExport`)
	call := func() {
		req, _ := http.NewRequest("POST", onDemandURL, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(raw, skipped) {
			b.Fatalf("on-demand: %d %s, want Skipped (in sync)", resp.StatusCode, raw)
		}
	}
	var onDemand, get []time.Duration
	for b.Loop() {
		start := time.Now()
		direct()
		get = append(get, time.Since(start))
		start = time.Now()
		call()
		onDemand = append(onDemand, time.Since(start))
	}
	p50 := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	od, dg := p50(onDemand), p50(get)
	b.ReportMetric(od, "ondemand-p50-ms")
	b.ReportMetric(dg, "directGET-p50-ms")
	b.ReportMetric(od/dg, "ratio")
}
