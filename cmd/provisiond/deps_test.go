package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLinksNoTestCode checks that test-only packages stay out of the
// provisiond binary.
func TestBinaryLinksNoTestCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch dep {
		case "testing", "net/http/httptest", "provisiond/connector/scim/scimtest":
			t.Errorf("the provisiond binary links %s", dep)
		}
	}
}
