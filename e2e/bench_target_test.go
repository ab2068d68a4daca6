package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"provisiond/connector/scim/scimserver"
	"provisiond/ids"
)

// This file is BenchmarkCycle's SCIM target: a scimserver in a process of
// its own (the test binary started again), which records its traffic.

// benchTargetEnv carries the bearer token to the target process; its
// presence makes TestBenchTargetProcess serve.
const benchTargetEnv = "PROVISIOND_BENCH_SCIM_TOKEN"

// benchCaptureEnv makes the target process keep the bodies of the users
// POSTed to it.
const benchCaptureEnv = "PROVISIOND_BENCH_SCIM_CAPTURE"

// benchProfileEnv names the file the target process writes its CPU
// profile to.
const benchProfileEnv = "PROVISIOND_BENCH_SCIM_CPUPROFILE"

// benchTarget is a scimserver in a process of its own.
type benchTarget struct {
	url, token string // url: the SCIM base, …/scim/v2
	admin      string // the target process's own endpoints (traffic, posts)
}

// startBenchTarget starts the test binary again as a SCIM target (see
// TestBenchTargetProcess) and stops it when the benchmark ends. With
// capture it keeps the user JSON POSTed to it, for posts; with a profile
// path, it writes its CPU profile there when it stops.
func startBenchTarget(b *testing.B, capture bool, profile string) *benchTarget {
	tok := "bench-" + ids.NewUUID()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchTargetProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), benchTargetEnv+"="+tok)
	if capture {
		cmd.Env = append(cmd.Env, benchCaptureEnv+"=1")
	}
	if profile != "" {
		cmd.Env = append(cmd.Env, benchProfileEnv+"="+profile)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("start the SCIM target process: %v", err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				addr <- a
			}
		}
	}()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); pw.Close(); close(exited) }()
	b.Cleanup(func() {
		stdin.Close() // the target exits when its stdin ends
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case a := <-addr:
		return &benchTarget{url: "http://" + a + "/scim/v2", token: tok, admin: "http://" + a + "/bench"}
	case <-exited:
		b.Fatal("the SCIM target process exited before it listened")
	case <-time.After(30 * time.Second):
		b.Fatal("the SCIM target process did not listen within 30s")
	}
	return nil
}

func (t *benchTarget) get(b *testing.B, path string, v any) {
	req, _ := http.NewRequest(http.MethodGet, t.admin+path, nil)
	req.Header.Set("Authorization", "Bearer "+t.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		b.Fatalf("target %s: %v", path, err)
	}
}

// traffic returns what the target has answered so far.
func (t *benchTarget) traffic(b *testing.B) traffic {
	var tr traffic
	t.get(b, "/traffic", &tr)
	return tr
}

// cpu returns the CPU time the target process has used.
func (t *benchTarget) cpu(b *testing.B) time.Duration {
	var d time.Duration
	t.get(b, "/cpu", &d)
	return d
}

// gcTime is the CPU time a process's garbage collector took, as the Go
// runtime counts it, and the part of it its idle mark workers took: they
// mark whenever a P has nothing else to run, which on a machine both
// processes share is CPU the other one waits for.
type gcTime struct {
	Total, IdleMark time.Duration
	Cycles          uint64
}

func (g gcTime) minus(o gcTime) gcTime {
	return gcTime{g.Total - o.Total, g.IdleMark - o.IdleMark, g.Cycles - o.Cycles}
}

func readGCTime() gcTime {
	ss := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/gc/mark/idle:cpu-seconds"},
		{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(ss)
	d := func(s metrics.Sample) time.Duration { return time.Duration(s.Value.Float64() * float64(time.Second)) }
	return gcTime{Total: d(ss[0]), IdleMark: d(ss[1]), Cycles: ss[2].Value.Uint64()}
}

// gc is the target process's gcTime so far.
func (t *benchTarget) gc(b *testing.B) gcTime {
	var g gcTime
	t.get(b, "/gc", &g)
	return g
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// posts returns the bodies of the users POSTed to a capturing target.
func (t *benchTarget) posts(b *testing.B) [][]byte {
	var raw []json.RawMessage
	t.get(b, "/posts", &raw)
	out := make([][]byte, len(raw))
	for i, r := range raw {
		out[i] = r
	}
	return out
}

// traffic counts a target's answers by "METHOD Resource status", with the
// times (Unix ns) of the first and last.
type traffic map[string]*trafficCount

type trafficCount struct {
	N           int
	First, Last int64
}

func trafficKey(method, resource string, status int) string {
	return method + " " + resource + " " + strconv.Itoa(status)
}

func (tr traffic) count(method, resource string, status int) int {
	if c := tr[trafficKey(method, resource, status)]; c != nil {
		return c.N
	}
	return 0
}

// span is the time from the first to the last answer about resource.
func (tr traffic) span(resource string) time.Duration {
	var first, last int64
	for k, c := range tr {
		if strings.Fields(k)[1] != resource {
			continue
		}
		if first == 0 || c.First < first {
			first = c.First
		}
		last = max(last, c.Last)
	}
	return time.Duration(last - first)
}

func (tr traffic) String() string {
	keys := make([]string, 0, len(tr))
	for k := range tr {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, tr[k].N)
	}
	return strings.Join(parts, ", ")
}

// TestBenchTargetProcess is not a test of its own: it is the SCIM target
// BenchmarkCycle runs in another process (the test binary started again
// with benchTargetEnv set). It serves a scimserver at /scim/v2 and, at
// /bench, the traffic it answered and the users POSTed to it, until its
// stdin ends.
func TestBenchTargetProcess(t *testing.T) {
	tok := os.Getenv(benchTargetEnv)
	if tok == "" {
		t.Skip("the SCIM target process of BenchmarkCycle; it serves only when the benchmark starts it")
	}
	rec := &recordingTarget{srv: scimserver.New(scimserver.Options{Token: tok}), capture: os.Getenv(benchCaptureEnv) != "",
		traffic: traffic{}}
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", rec))
	mux.HandleFunc("GET /bench/traffic", rec.serveTraffic)
	mux.HandleFunc("GET /bench/posts", rec.servePosts)
	mux.HandleFunc("GET /bench/cpu", func(w http.ResponseWriter, r *http.Request) {
		if rec.authorized(w, r) {
			_ = json.NewEncoder(w).Encode(cpuTime())
		}
	})
	mux.HandleFunc("GET /bench/gc", func(w http.ResponseWriter, r *http.Request) {
		if rec.authorized(w, r) {
			_ = json.NewEncoder(w).Encode(readGCTime())
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if path := os.Getenv(benchProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("listening %s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
}

// recordingTarget serves a scimserver and records its traffic.
type recordingTarget struct {
	srv     *scimserver.Server
	capture bool

	mu      sync.Mutex
	traffic traffic
	posts   []json.RawMessage
}

func (rt *recordingTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resource, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	var body []byte
	if rt.capture && r.Method == http.MethodPost && resource == "Users" {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	rt.srv.ServeHTTP(sw, r)
	now := time.Now().UnixNano()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	k := trafficKey(r.Method, resource, sw.status)
	c := rt.traffic[k]
	if c == nil {
		c = &trafficCount{First: now}
		rt.traffic[k] = c
	}
	c.N++
	c.Last = now
	if body != nil && sw.status == http.StatusCreated {
		rt.posts = append(rt.posts, body)
	}
}

func (rt *recordingTarget) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+os.Getenv(benchTargetEnv) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return false
	}
	return true
}

func (rt *recordingTarget) serveTraffic(w http.ResponseWriter, r *http.Request) {
	if rt.authorized(w, r) {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		_ = json.NewEncoder(w).Encode(rt.traffic)
	}
}

func (rt *recordingTarget) servePosts(w http.ResponseWriter, r *http.Request) {
	if rt.authorized(w, r) {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		_ = json.NewEncoder(w).Encode(rt.posts)
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (g gcTime) String() string {
	return fmt.Sprintf("GC %s in %d cycles, idle marking %s", g.Total.Round(time.Millisecond), g.Cycles, g.IdleMark.Round(time.Millisecond))
}
