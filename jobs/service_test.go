package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"provisiond/connector"
	"provisiond/connector/memtarget"
	"provisiond/schema"
	"provisiond/secrets"
	"provisiond/store"
	"provisiond/store/memory"
)

// A job's connectors are built once and kept while its configuration
// (secrets, settings) is unchanged, so what a connector learns about its
// target survives between calls; a changed secret builds new ones.
func TestConnectorsKeptPerJob(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	box, err := secrets.NewBox(bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateServicePrincipal(ctx, store.Application{ID: "app", AppID: "appid"}, store.ServicePrincipal{ID: "sp", AppID: "appid", ApplicationID: "app"}))
	sch, _ := json.Marshal(schema.SCIMSchema())
	must(st.CreateJob(ctx, store.Job{ID: "job", ServicePrincipalID: "sp", TemplateID: "scim", Schema: sch}))
	putSecret := func(v string) {
		sealed, err := box.SealPairs([]secrets.Pair{{Key: "BaseAddress", Value: secrets.Value(v)}})
		must(err)
		must(st.PutSecrets(ctx, "sp", sealed))
	}
	putSecret("https://one.example")
	builds := 0
	s := New(Options{Store: st, Secrets: box, Registry: Registry{
		Sources: map[string]SourceFactory{schema.DirectoryEntra: func(context.Context, Config) (connector.Source, error) {
			return nil, nil
		}},
		Targets: map[string]TargetFactory{schema.DirectorySCIM: func(_ context.Context, c Config) (connector.Target, error) {
			builds++
			return memtarget.New(memtarget.Options{}), nil
		}},
	}})
	runtime := func() connector.Target {
		t.Helper()
		j, err := st.GetJob(ctx, "sp", "job")
		must(err)
		comp, err := s.Compiled(j)
		must(err)
		sp, err := st.GetServicePrincipal(ctx, "sp")
		must(err)
		job, err := s.Runtime(ctx, sp, j, comp.Rules[0])
		must(err)
		return job.Target
	}
	first := runtime()
	if again := runtime(); again != first || builds != 1 {
		t.Fatalf("second call: same target %v, %d builds; want the kept target and 1 build", again == first, builds)
	}
	putSecret("https://two.example")
	if changed := runtime(); changed == first || builds != 2 {
		t.Fatalf("after a secret changed: same target %v, %d builds; want a new target", changed == first, builds)
	}
	s.Forget("job")
	runtime()
	if builds != 3 {
		t.Errorf("after Forget: %d builds, want 3", builds)
	}
}
