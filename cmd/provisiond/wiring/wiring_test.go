package wiring

import (
	"strings"
	"testing"

	"provisiond/connector"
	"provisiond/jobs"
	"provisiond/schema"
	"provisiond/store/memory"
)

// TestDirectoryTargetChecksValues: the registry's directory target, cloud
// sync's, refuses what POST /users refuses (a NUL in displayName).
func TestDirectoryTargetChecksValues(t *testing.T) {
	guard, hc, err := TargetClient("", "")
	if err != nil {
		t.Fatal(err)
	}
	reg := Registry(memory.New(), hc, guard, 0, nil)
	tgt, err := reg.Targets[schema.DirectoryEntra](t.Context(), jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tgt.Create(t.Context(), "User", connector.Attributes{"UserPrincipalName": {"ada@contoso.test"}, "DisplayName": {"A\x00da"}})
	if connector.KindOf(err) != connector.KindInvalid || !strings.Contains(err.Error(), "'displayName'") {
		t.Errorf("Create = %v, want the NUL in displayName refused", err)
	}
}
