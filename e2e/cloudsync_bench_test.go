package e2e

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"

	"provisiond/connector"
	"provisiond/store"
)

var (
	cloudSyncUsers   = flag.Int("cloudsync.users", 10000, "BenchmarkCloudSyncCycle: AD users in the initial cycle")
	cloudSyncRenames = flag.Int("cloudsync.renames", 50, "BenchmarkCloudSyncCycle: AD renames timed to the directory")
)

// BenchmarkCloudSyncCycle measures a cloud-sync job over an in-memory AD
// (no LDAP round trips: the directory side alone): the initial cycle of
// -cloudsync.users users into the directory (objects/s), then the latency
// from an AD modify to the directory (p50, p99 of -cloudsync.renames), the
// job woken as the source's change notification wakes it. Run it once:
//
//	go test ./e2e -run '^$' -bench BenchmarkCloudSyncCycle -benchtime 1x
func BenchmarkCloudSyncCycle(b *testing.B) {
	n := *cloudSyncUsers
	c := newCloudSync(b, options{manualCycles: true})
	e := c.e
	for i := range n {
		sam := fmt.Sprintf("user%05d", i)
		c.ad.Put(adUser(fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", i), "CN="+sam+",OU=Staff,DC=corp,DC=chicago,DC=com", sam, "Given", fmt.Sprintf("Sur%05d", i)))
	}
	if _, err := e.st.UpdateJob(context.Background(), c.spID, c.jobID, func(j *store.Job) error {
		j.Schedule.State, j.Schedule.Interval = store.ScheduleActive, "PT40M"
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if err := e.app.Jobs.RunCycle(context.Background(), c.spID, c.jobID); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.StopTimer()
	users, err := e.st.ListUsers(context.Background(), store.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if len(users) != n {
		b.Fatalf("the initial cycle left %d directory users, want %d", len(users), n)
	}
	b.ReportMetric(float64(n)/took.Seconds(), "objects/s")

	if err := e.app.Runner.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	for i := range *cloudSyncRenames {
		guid := fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", i)
		upn := fmt.Sprintf("user%05d@chicago.com", i)
		name := fmt.Sprintf("Renamed %d", i)
		begin := time.Now()
		c.ad.Modify(guid, connector.Attributes{"displayName": {name}})
		if err := e.app.Runner.Schedule(context.Background(), c.spID, c.jobID, time.Now()); err != nil {
			b.Fatal(err)
		}
		for {
			u, err := e.st.GetUserByUPN(context.Background(), upn)
			if err != nil {
				b.Fatal(err)
			}
			if u.Props["displayName"] == name {
				break
			}
			if time.Since(begin) > 30*time.Second {
				b.Fatalf("rename %d did not reach the directory in 30 s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		lat = append(lat, time.Since(begin))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
}
