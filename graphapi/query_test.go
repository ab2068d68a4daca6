package graphapi

import (
	"net/http/httptest"
	"testing"
)

func TestNextLink(t *testing.T) {
	r := httptest.NewRequest("GET", "http://graph.example/v1.0/users?$top=2&$select=id,displayName&$skiptoken=old&x=a+b", nil)
	got := nextLink(r, "TOKEN")
	// Outside a Server there is no listen address: the Host header
	// (graph.example) is never used.
	want := "http://localhost/v1.0/users?$select=id%2CdisplayName&$top=2&x=a+b&$skiptoken=TOKEN"
	if got != want {
		t.Errorf("nextLink = %q, want %q", got, want)
	}
}
