package msgraph

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

type staticToken string

func (s staticToken) GetAuthorizationToken(context.Context, *url.URL, map[string]interface{}) (string, error) {
	return string(s), nil
}
func (staticToken) GetAllowedHostsValidator() *absauth.AllowedHostsValidator {
	v := absauth.NewAllowedHostsValidator(nil)
	return &v
}

// startDemo builds and runs `provisiond serve --demo` and returns its base
// URL and the printed token.
func startDemo(t *testing.T) (base, token string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "provisiond")
	build := exec.Command("go", "build", "-o", bin, "./cmd/provisiond")
	build.Dir = filepath.Join("..", "..") // the provisiond module
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build provisiond: %v", err)
	}
	cmd := exec.Command(bin, "serve", "--demo", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--log-level", "error")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	deadline := time.Now().Add(30 * time.Second)
	for sc.Scan() && time.Now().Before(deadline) {
		line := sc.Text()
		if tok, ok := strings.CutPrefix(line, "export TOKEN="); ok {
			token = tok
		}
		if m := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/v1\.0/`).FindStringSubmatch(line); m != nil && base == "" {
			base = m[1]
		}
		if strings.Contains(line, "provisionOnDemand") {
			break
		}
	}
	go io.Copy(io.Discard, out)
	if base == "" || token == "" {
		t.Fatal("demo did not print its base URL and token")
	}
	return base, token
}

// demoClient starts the demo and returns an SDK client pointed at it.
func demoClient(t *testing.T) *msgraphsdk.GraphServiceClient {
	t.Helper()
	base, token := startDemo(t)
	adapter, err := msgraphsdk.NewGraphRequestAdapter(absauth.NewBaseBearerTokenAuthenticationProvider(staticToken(token)))
	if err != nil {
		t.Fatal(err)
	}
	adapter.SetBaseUrl(base + "/v1.0")
	return msgraphsdk.NewGraphServiceClient(adapter)
}

func TestGraphSDKProvisionOnDemand(t *testing.T) {
	client := demoClient(t)
	ctx := context.Background()

	// Directory reads through the SDK: $filter on users and service principals.
	filter := "userPrincipalName eq 'adele@demo.provisiond.local'"
	us, err := client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &filter}})
	if err != nil {
		t.Fatalf("list users: %v", describe(err))
	}
	if len(us.GetValue()) != 1 {
		t.Fatalf("users matching %s: %d", filter, len(us.GetValue()))
	}
	userID := *us.GetValue()[0].GetId()

	jobs, listed := demoJob(ctx, t, client)
	job := jobs.BySynchronizationJobId(*listed.GetId())
	if code := listed.GetStatus().GetCode(); code == nil || *code != models.NOTRUN_SYNCHRONIZATIONSTATUSCODE {
		t.Errorf("job status code = %v, want NotRun", code)
	}

	// The schema deserialises with the SDK's strict enum parsers.
	schema, err := job.Schema().Get(ctx, nil)
	if err != nil {
		t.Fatalf("schema: %v", describe(err))
	}
	rules := schema.GetSynchronizationRules()
	if len(rules) != 1 || len(rules[0].GetObjectMappings()) != 2 {
		t.Fatalf("schema rules = %d", len(rules))
	}
	ruleID := *rules[0].GetId()
	fns, err := job.Schema().Functions().Get(ctx, nil)
	if err != nil || len(fns.GetValue()) < 40 {
		t.Fatalf("functions: %v", describe(err))
	}
	ops, err := job.Schema().FilterOperators().Get(ctx, nil)
	if err != nil || len(ops.GetValue()) != 18 {
		t.Fatalf("filterOperators: %v", describe(err))
	}

	// provisionOnDemand, twice: Success then RedundantExport.
	call := func(rule string) (models.StringKeyStringValuePairable, error) {
		subj := models.NewSynchronizationJobSubject()
		typ := "User"
		subj.SetObjectId(&userID)
		subj.SetObjectTypeName(&typ)
		p := models.NewSynchronizationJobApplicationParameters()
		p.SetRuleId(&rule)
		p.SetSubjects([]models.SynchronizationJobSubjectable{subj})
		body := serviceprincipals.NewItemSynchronizationJobsItemProvisionOnDemandPostRequestBody()
		body.SetParameters([]models.SynchronizationJobApplicationParametersable{p})
		return job.ProvisionOnDemand().Post(ctx, body, nil)
	}
	for _, want := range []string{"Success", "Skipped"} {
		res, err := call(ruleID)
		if err != nil {
			t.Fatalf("provisionOnDemand: %v", describe(err))
		}
		var key struct{ Result string }
		if err := json.Unmarshal([]byte(*res.GetKey()), &key); err != nil || key.Result != want {
			t.Errorf("key = %s, want result %s", *res.GetKey(), want)
		}
		var value struct{ ProvisioningSteps []any }
		if err := json.Unmarshal([]byte(*res.GetValue()), &value); err != nil || len(value.ProvisioningSteps) < 3 {
			t.Errorf("value = %s", *res.GetValue())
		}
	}

	// The provisioning logs of those two calls, through the SDK's
	// AuditLogs().Provisioning() and its own provisioningObjectSummary
	// models (strict enum parsers included).
	logFilter := "jobId eq '" + *listed.GetId() + "' and sourceIdentity/id eq '" + userID + "'"
	count := true
	logs, err := client.AuditLogs().Provisioning().Get(ctx, &auditlogs.ProvisioningRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.ProvisioningRequestBuilderGetQueryParameters{
			Filter: &logFilter, Orderby: []string{"activityDateTime asc"}, Count: &count}})
	if err != nil {
		t.Fatalf("provisioning logs: %v", describe(err))
	}
	if got := logs.GetValue(); len(got) != 2 || logs.GetOdataCount() == nil || *logs.GetOdataCount() != 2 {
		t.Fatalf("provisioning logs matching %s: %d", logFilter, len(got))
	}
	first, second := logs.GetValue()[0], logs.GetValue()[1]
	if a := first.GetProvisioningAction(); a == nil || *a != models.CREATE_PROVISIONINGACTION {
		t.Errorf("first log action = %v, want create", a)
	}
	if st := first.GetProvisioningStatusInfo(); st == nil || st.GetStatus() == nil || *st.GetStatus() != models.SUCCESS_PROVISIONINGRESULT {
		t.Errorf("first log status = %v, want success", st)
	}
	if st := second.GetProvisioningStatusInfo(); st == nil || st.GetStatus() == nil || *st.GetStatus() != models.SKIPPED_PROVISIONINGRESULT {
		t.Errorf("second log status = %v, want skipped", st)
	}
	if si := first.GetSourceIdentity(); si == nil || si.GetId() == nil || *si.GetId() != userID {
		t.Errorf("first log source identity = %v, want %s", si, userID)
	}
	if sp := first.GetServicePrincipal(); sp == nil || sp.GetDisplayName() == nil || *sp.GetDisplayName() != "Demo SCIM App" {
		t.Errorf("first log service principal = %v", sp)
	}
	steps := first.GetProvisioningSteps()
	if len(steps) < 3 || steps[0].GetProvisioningStepType() == nil || *steps[0].GetProvisioningStepType() != models.IMPORT_PROVISIONINGSTEPTYPE {
		t.Errorf("first log steps = %d, first of type %v; want import first", len(steps), steps)
	}
	if at := first.GetActivityDateTime(); at == nil || time.Since(*at) > time.Hour || at.After(*second.GetActivityDateTime()) {
		t.Errorf("activityDateTime %v, %v: want recent and ascending", at, second.GetActivityDateTime())
	}

	// A Graph error surfaces as the SDK's ODataError with its code.
	_, err = call("no-such-rule")
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) || oe.ResponseStatusCode != 400 || *oe.GetErrorEscaped().GetCode() != "RequestParameterInvalid" {
		t.Errorf("bad rule: %v", describe(err))
	}
}

// demoJob finds the demo's service principal and returns its jobs'
// request builder and its one job as listed.
func demoJob(ctx context.Context, t *testing.T, client *msgraphsdk.GraphServiceClient) (*serviceprincipals.ItemSynchronizationJobsRequestBuilder, models.SynchronizationJobable) {
	t.Helper()
	spFilter := "displayName eq 'Demo SCIM App'"
	sps, err := client.ServicePrincipals().Get(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{Filter: &spFilter}})
	if err != nil || len(sps.GetValue()) != 1 {
		t.Fatalf("service principals: %v", describe(err))
	}
	jobs := client.ServicePrincipals().ByServicePrincipalId(*sps.GetValue()[0].GetId()).Synchronization().Jobs()
	list, err := jobs.Get(ctx, nil)
	if err != nil || len(list.GetValue()) != 1 {
		t.Fatalf("jobs: %v", describe(err))
	}
	return jobs, list.GetValue()[0]
}

func describe(err error) string {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
		return oe.Error() + ": " + *oe.GetErrorEscaped().GetCode() + ": " + *oe.GetErrorEscaped().GetMessage()
	}
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
