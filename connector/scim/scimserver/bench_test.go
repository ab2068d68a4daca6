package scimserver

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkPatchAddMembers fills a group of 10,000 and one of 500,000
// members 5,000 at a time, as a cycle does: the cost per member added
// (member-ns) should not grow with the group.
func BenchmarkPatchAddMembers(b *testing.B) {
	for _, size := range []int{10_000, 500_000} {
		b.Run(fmt.Sprintf("members=%d", size), func(b *testing.B) { benchmarkPatchAddMembers(b, size) })
	}
}

func benchmarkPatchAddMembers(b *testing.B, size int) {
	const chunk = 5_000
	do := func(s *Server, method, target, body string, want int) string {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/scim+json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("%s %s = %d %s", method, target, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	bodies := make([]string, size/chunk)
	var sb strings.Builder
	for i := range bodies {
		sb.Reset()
		sb.WriteString(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[`)
		for j := range chunk {
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"value":"m%d"}`, i*chunk+j)
		}
		sb.WriteString(`]}]}`)
		bodies[i] = sb.String()
	}
	b.ResetTimer()
	for range b.N {
		s := newTestServer()
		created := do(s, "POST", "/Groups", `{"displayName":"big"}`, http.StatusCreated)
		id := strings.Split(strings.Split(created, `"id":"`)[1], `"`)[0]
		for _, body := range bodies {
			do(s, "PATCH", "/Groups/"+id, body, http.StatusNoContent)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "member-ns")
}
