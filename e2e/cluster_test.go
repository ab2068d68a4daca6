package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"provisiond/connector/scim/scimserver"
	"provisiond/connector/scim/scimtest"
	"provisiond/store/pgtest"
)

// Two provisiond processes on one PostgreSQL database, sharing one data
// directory's keys: what one node writes the other reads; the
// provisionOnDemand limit holds across both; a node killed (kill -9) in the
// middle of an initial cycle has its work resumed by the other well within
// 30 s, and the target ends up with every object exactly once; a directory
// write reaches the target through a change-driven cycle; both nodes stop
// cleanly.
func TestTwoNodesOnPostgres(t *testing.T) {
	nodes, target, dbURL := startTwoNodes(t, buildProvisiond(t))
	a, b := nodes["a"].client(), nodes["b"].client()

	const groupName = "Cluster Testers"
	spID, jobID, upns := crashDirectory(t, a, target, groupName)
	jobPath := "/servicePrincipals/" + spID + "/synchronization/jobs/" + jobID

	// A job made on one node is read on the other.
	if got := b.must("GET", jobPath, nil, 200); got["id"] != jobID || got["templateId"] != "scim" {
		t.Fatalf("node b reads the job as %v", got)
	}

	// 12 concurrent provisionOnDemand calls, alternating between the
	// nodes: exactly 5 accepted in the cluster, the others told to wait.
	sch := a.must("GET", jobPath+"/schema", nil, 200)
	ruleID := sch["synchronizationRules"].([]any)[0].(map[string]any)["id"].(string)
	users := a.must("GET", "/users?$top=12&$select=id", nil, 200)["value"].([]any)
	statuses := make(chan int, 12)
	for i := range 12 {
		api := []*apiClient{a, b}[i%2]
		id := users[i].(map[string]any)["id"].(string)
		go func() {
			statuses <- onDemandStatus(t, api, jobPath, ruleID, id)
		}()
	}
	count := map[int]int{}
	for range 12 {
		count[<-statuses]++
	}
	if count[http.StatusOK] != 5 || count[http.StatusTooManyRequests] != 7 {
		t.Errorf("12 concurrent provisionOnDemand calls over two nodes: statuses %v, want 5 × 200 and 7 × 429", count)
	}

	// The initial cycle, started on a; the node working on it is killed.
	worker := interruptCycle(t, nodes, target, dbURL, jobPath, len(upns), (*daemon).kill)
	checkTargetOnce(t, target, upns, groupName)

	// The killed node comes back; a user added on it reaches the target
	// through a change-driven cycle, wherever it runs.
	nodes[worker].start()
	back := nodes[worker].client()
	u := back.must("POST", "/users", map[string]any{"accountEnabled": true, "displayName": "Late Joiner",
		"mailNickname": "late.joiner", "userPrincipalName": "late.joiner@contoso.test"}, 201)
	groupID := groupIDByName(t, back, groupName)
	written := time.Now()
	back.must("POST", "/groups/"+groupID+"/members/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + u["id"].(string)}, 204)
	target.waitUsers(len(upns)+1, 10*time.Second)
	t.Logf("a directory write reached the target %v later", time.Since(written).Round(time.Millisecond))

	// Both stop cleanly, handing their work back.
	for _, d := range nodes {
		d.stop()
	}
}

// A node stopped gracefully (SIGTERM) in the middle of a cycle hands it
// back: the other node finishes it, and the target holds every object
// once.
func TestTwoNodesGracefulStop(t *testing.T) {
	nodes, target, dbURL := startTwoNodes(t, buildProvisiond(t))
	const groupName = "Graceful Testers"
	spID, jobID, upns := crashDirectory(t, nodes["a"].client(), target, groupName)
	jobPath := "/servicePrincipals/" + spID + "/synchronization/jobs/" + jobID
	interruptCycle(t, nodes, target, dbURL, jobPath, len(upns), (*daemon).stop)
	checkTargetOnce(t, target, upns, groupName)
}

// A pause sent to one node stops the cycle running on the other within a
// few seconds; a cycle in chunks stops on both nodes.
func TestTwoNodesPause(t *testing.T) {
	bin := buildProvisiond(t)
	t.Run("whole", func(t *testing.T) { twoNodesPause(t, bin) })
	t.Run("chunks", func(t *testing.T) { twoNodesPause(t, bin, spreadArgs...) })
}

func twoNodesPause(t *testing.T, bin string, args ...string) {
	nodes, target, dbURL := startTwoNodes(t, bin, args...)
	spID, jobID, upns := crashDirectory(t, nodes["a"].client(), target, "Paused Testers")
	jobPath := "/servicePrincipals/" + spID + "/synchronization/jobs/" + jobID
	time.Sleep(time.Second) // see interruptCycle
	nodes["a"].client().must("POST", jobPath+"/start", nil, 204)
	target.waitUsers(len(upns)/10, 30*time.Second)
	worker := cycleWorker(t, dbURL)
	other := map[string]string{"a": "b", "b": "a"}[worker]
	nodes[other].client().must("POST", jobPath+"/pause", nil, 204)
	count := func() int {
		total, _ := target.get("Users?count=1")["totalResults"].(float64)
		return int(total)
	}
	// Within 3 s the cycle on the worker has stopped: the target stops
	// growing, short of every user.
	time.Sleep(3 * time.Second)
	n := count()
	time.Sleep(time.Second)
	if m := count(); m != n || m >= len(upns) {
		t.Fatalf("the target had %d users 3 s after the pause and %d a second later, of %d: node %s's cycle did not stop", n, m, len(upns), worker)
	}
	t.Logf("a pause on node %s stopped node %s's cycle with %d of %d users in the target", other, worker, n, len(upns))
}

// spreadArgs make the crash directory's cycle (300 users) go in 10 chunks,
// and slow, so that a node can be killed in its middle.
var spreadArgs = []string{"--cycle-chunk", "30", "--cycle-workers", "1"}

// A big cycle's chunks are worked by both nodes (River says which node
// finished each), its figures add them up, and the target holds every
// object once.
func TestTwoNodesSpreadCycle(t *testing.T) {
	const groupName = "Spread Testers"
	nodes, target, dbURL, jobPath, upns := startSpreadJob(t, groupName)
	le := waitSucceeded(t, nodes["b"].client(), jobPath, 60*time.Second)
	checkTargetOnce(t, target, upns, groupName)
	if got, want := le["countExported"], float64(len(upns)+1); got != want {
		t.Errorf("the cycle's countExported is %v, want %v (every user and the group)", got, want)
	}
	by := chunksBy(t, dbURL, "completed")
	if by["a"] == 0 || by["b"] == 0 || by["a"]+by["b"] != 10 {
		t.Errorf("chunks completed by node: %v, want 10 in all, on both nodes", by)
	}
	t.Logf("chunks completed by node: %v", by)
}

// A node killed (kill -9) while it works chunks of a cycle the other
// coordinates: the coordinator has them worked again, the cycle ends
// within 30 s, and the target holds every object once.
func TestTwoNodesSpreadKillChunkWorker(t *testing.T) {
	le, upns := interruptChunkWorker(t, "Chunk Testers", (*daemon).kill)
	// What the dead node created and had not committed, the chunk worked
	// again finds in the target and links as a match, not an export.
	if got := le["countExported"].(float64); got > float64(len(upns)+1) {
		t.Errorf("the cycle's countExported is %v, more than the %d objects", got, len(upns)+1)
	}
}

// A node stopped (SIGTERM) while it works chunks of a cycle the other
// coordinates: its chunks commit what they did and are worked again
// elsewhere, and the cycle counts every export once, the stopped node's
// too.
func TestTwoNodesSpreadStopChunkWorker(t *testing.T) {
	le, upns := interruptChunkWorker(t, "Stop Testers", (*daemon).stop)
	if got, want := le["countExported"], float64(len(upns)+1); got != want {
		t.Errorf("the cycle's countExported is %v, want %v (every user and the group)", got, want)
	}
}

// interruptChunkWorker starts a cycle in chunks, interrupts the node that
// does not coordinate it while it works chunks, and returns the cycle's
// lastSuccessfulExecution once the coordinator ended it with every object
// once in the target.
func interruptChunkWorker(t *testing.T, groupName string, interrupt func(*daemon)) (map[string]any, []string) {
	t.Helper()
	nodes, target, dbURL, jobPath, upns := startSpreadJob(t, groupName)
	n := target.waitUsers(len(upns)/3, 30*time.Second)
	coordinator := cycleWorker(t, dbURL)
	victim := map[string]string{"a": "b", "b": "a"}[coordinator]
	if running := chunksBy(t, dbURL, "running")[victim]; running == 0 {
		t.Fatalf("node %s works no chunk with %d of %d users in the target: nothing to interrupt", victim, n, len(upns))
	}
	interrupt(nodes[victim])
	stopped := time.Now()
	t.Logf("interrupted node %s (not the coordinator) with %d of %d users in the target", victim, n, len(upns))
	le := waitSucceeded(t, nodes[coordinator].client(), jobPath, 30*time.Second)
	t.Logf("node %s finished the cycle %v after the interruption, countExported %v", coordinator,
		time.Since(stopped).Round(time.Millisecond), le["countExported"])
	checkTargetOnce(t, target, upns, groupName)
	return le, upns
}

// The coordinator of a cycle in chunks killed (kill -9): the other node
// adopts the cycle, its own chunks of the dead cycle stop, and the new
// cycle ends within 30 s with every object once in the target.
func TestTwoNodesSpreadKillCoordinator(t *testing.T) {
	nodes, target, dbURL := startTwoNodes(t, buildProvisiond(t), spreadArgs...)
	const groupName = "Coordinator Testers"
	spID, jobID, upns := crashDirectory(t, nodes["a"].client(), target, groupName)
	jobPath := "/servicePrincipals/" + spID + "/synchronization/jobs/" + jobID
	interruptCycle(t, nodes, target, dbURL, jobPath, len(upns), (*daemon).kill)
	checkTargetOnce(t, target, upns, groupName)
}

// startSpreadJob starts two nodes with spreadArgs, the crash directory
// with its group groupName, and its job, through node a.
func startSpreadJob(t *testing.T, groupName string) (nodes map[string]*daemon, target *scimPeer, dbURL, jobPath string, upns []string) {
	t.Helper()
	nodes, target, dbURL = startTwoNodes(t, buildProvisiond(t), spreadArgs...)
	spID, jobID, upns := crashDirectory(t, nodes["a"].client(), target, groupName)
	jobPath = "/servicePrincipals/" + spID + "/synchronization/jobs/" + jobID
	time.Sleep(time.Second) // see interruptCycle
	nodes["a"].client().must("POST", jobPath+"/start", nil, 204)
	return nodes, target, dbURL, jobPath, upns
}

// waitSucceeded waits up to limit for the job's lastSuccessfulExecution
// and returns it.
func waitSucceeded(t *testing.T, api *apiClient, jobPath string, limit time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		status := api.must("GET", jobPath, nil, 200)["status"].(map[string]any)
		if le, ok := status["lastSuccessfulExecution"].(map[string]any); ok {
			return le
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cycle did not succeed within %v: status %v", limit, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// chunksBy counts the chunks in River's state by the node that attempted
// them last.
func chunksBy(t *testing.T, dbURL, state string) map[string]int {
	t.Helper()
	ctx, conn := connectDB(t, dbURL)
	rows, err := conn.Query(ctx, `SELECT attempted_by[array_length(attempted_by, 1)], count(*) FROM river_job
		WHERE kind = 'provisiond_chunk' AND state = $1 GROUP BY 1`, state)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]int{}
	for rows.Next() {
		var node string
		var n int
		if err := rows.Scan(&node, &n); err != nil {
			t.Fatal(err)
		}
		by[node] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return by
}

// startTwoNodes starts nodes a and b of provisiond on a new database of
// the test cluster, with one data directory's keys, and a SCIM target
// whose creates answer slowly; args go to both nodes' serve.
func startTwoNodes(t *testing.T, bin string, args ...string) (nodes map[string]*daemon, target *scimPeer, dbURL string) {
	dbURL = pgtest.Database(t)
	const token = "cluster-test-token"
	srv := scimtest.NewServer(scimtest.Options{Options: scimserver.Options{Token: token}})
	ts := httptest.NewServer(&slowCreates{next: srv, delay: createDelay})
	t.Cleanup(ts.Close)
	target = &scimPeer{t: t, url: ts.URL, token: token}
	data := t.TempDir() // one set of keys for both, as a copied directory would be
	nodes = map[string]*daemon{}
	for _, name := range []string{"a", "b"} {
		d := &daemon{t: t, bin: bin, data: data, args: append([]string{"--store", dbURL, "--node-name", name, "--ondemand-limit", "5/10s"}, args...)}
		d.start()
		t.Cleanup(d.killIfRunning)
		nodes[name] = d
	}
	return nodes, target, dbURL
}

// interruptCycle starts the job on node a and, when a third of its users
// are in the target, applies interrupt to the node working on the cycle;
// the other node must finish the cycle within 30 s. It returns the name
// of the interrupted node.
func interruptCycle(t *testing.T, nodes map[string]*daemon, target *scimPeer, dbURL, jobPath string, users int, interrupt func(*daemon)) string {
	t.Helper()
	// The directory writes' change-driven scheduling has passed first (the
	// job was not started then), so no second cycle waits behind this one:
	// the survivor has to find the work by itself.
	time.Sleep(time.Second)
	nodes["a"].client().must("POST", jobPath+"/start", nil, 204)
	n := target.waitUsers(users/3, 30*time.Second)
	worker := cycleWorker(t, dbURL)
	survivor := map[string]string{"a": "b", "b": "a"}[worker]
	if survivor == "" {
		t.Fatalf("the cycle runs on %q, not on a node of the test", worker)
	}
	interrupt(nodes[worker])
	stopped := time.Now()
	t.Logf("interrupted node %s with %d of %d users in the target", worker, n, users)
	if n >= users {
		t.Fatalf("the cycle had created all %d users before the interruption: nothing was interrupted", n)
	}
	api := nodes[survivor].client()
	deadline := stopped.Add(30 * time.Second)
	for {
		status := api.must("GET", jobPath, nil, 200)["status"].(map[string]any)
		if status["lastSuccessfulExecution"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not finish the cycle within 30s of the interruption: status %v", survivor, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("node %s finished the cycle %v after the interruption", survivor, time.Since(stopped).Round(time.Millisecond))
	return worker
}

// onDemandStatus calls provisionOnDemand for one user and returns the
// status.
func onDemandStatus(t *testing.T, api *apiClient, jobPath, ruleID, userID string) int {
	_, err := api.call("POST", jobPath+"/provisionOnDemand", map[string]any{"parameters": []any{map[string]any{
		"ruleId": ruleID, "subjects": []any{map[string]any{"objectId": userID, "objectTypeName": "User"}}}}}, 200)
	switch {
	case err == nil:
		return 200
	case strings.Contains(err.Error(), "status 429"):
		return 429
	default:
		t.Errorf("provisionOnDemand: %v", err)
		return 0
	}
}

// cycleWorker returns the name of the node running the cycle: the one
// whose session holds the job's lock (the other may have a cycle waiting
// behind it).
func cycleWorker(t *testing.T, dbURL string) string {
	t.Helper()
	ctx, conn := connectDB(t, dbURL)
	var by string
	err := conn.QueryRow(ctx, `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objsubid = 2`, 0x7064).Scan(&by)
	if err != nil {
		t.Fatalf("find the node running the cycle: %v", err)
	}
	return strings.TrimPrefix(by, "provisiond-")
}

func groupIDByName(t *testing.T, api *apiClient, name string) string {
	t.Helper()
	m := api.must("GET", "/groups?$filter="+strings.ReplaceAll(fmt.Sprintf("displayName eq '%s'", name), " ", "%20"), nil, 200)
	vs := m["value"].([]any)
	if len(vs) != 1 {
		t.Fatalf("%d groups named %q", len(vs), name)
	}
	return vs[0].(map[string]any)["id"].(string)
}

// connectDB connects to dbURL for the rest of the test, with a context
// that ends 10 s from now.
func connectDB(t *testing.T, dbURL string) (context.Context, *pgx.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return ctx, conn
}
