package e2e

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkProvisionOnDemandUser measures provisionOnDemand for one user
// over loopback HTTP against the in-process SCIM server, rate limit off,
// with a real SQLite store. Run with -benchtime=1000x for the p50/p99 over
// 1,000 calls.
func BenchmarkProvisionOnDemandUser(b *testing.B) {
	e := newEnv(b, options{})
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
