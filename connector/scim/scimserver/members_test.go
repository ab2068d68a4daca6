package scimserver

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"provisiond/connector/scim/scimjson"
)

// TestMemberAddsFollowAModel runs random member changes on a group — adds
// with duplicates, removes, failing PATCHes, PUTs, deleted users — and
// checks the group after each against a list kept by the test. Adds go
// through the group's index of member keys (keyIndex), which appends past
// the stored list's end: a failed PATCH must leave nothing behind, and a
// change by any other path must not leave the index stale.
func TestMemberAddsFollowAModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { memberModel(t, seed) })
	}
}

func memberModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := newTestServer()
	var users []string
	for i := range 5 {
		users = append(users, mustCreate(t, s, "/Users", fmt.Sprintf(`{"userName":"u%d"}`, i)))
	}
	universe := append(slices.Clone(users), "a", "b", "c", "d", "e", "f", "g", "h")
	for i := range 40 {
		universe = append(universe, fmt.Sprintf("m%d", i))
	}
	pick := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = universe[rng.IntN(len(universe))]
		}
		return out
	}
	values := func(vs []string) string {
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = `{"value":"` + v + `"}`
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	g := mustCreate(t, s, "/Groups", `{"displayName":"G"}`)
	var model []string // the members, in order
	add := func(vs []string) {
		for _, v := range vs {
			if !slices.Contains(model, v) {
				model = append(model, v)
			}
		}
	}
	remove := func(vs []string) {
		model = slices.DeleteFunc(model, func(m string) bool { return slices.Contains(vs, m) })
	}
	patch := func(want int, ops string) {
		t.Helper()
		if r := send(t, s, "PATCH", "/Groups/"+g, string(patchOf(ops))); r.status != want {
			t.Fatalf("PATCH %s = %d %v", ops, r.status, r.body)
		}
	}
	for step := range 300 {
		var did string
		switch op := rng.IntN(10); {
		case op < 4:
			vs := pick(1 + rng.IntN(12))
			path := []string{"members", "Members", "urn:ietf:params:scim:schemas:core:2.0:Group:members"}[rng.IntN(3)]
			did = "add " + path + " " + strings.Join(vs, ",")
			patch(http.StatusNoContent, `{"op":"add","path":"`+path+`","value":`+values(vs)+`}`)
			add(vs)
		case op == 4:
			vs, more := pick(1+rng.IntN(4)), pick(1+rng.IntN(4))
			did = "add " + strings.Join(vs, ",") + " twice in one PATCH, then " + strings.Join(more, ",")
			patch(http.StatusNoContent, `{"op":"add","path":"members","value":`+values(vs)+`},
				{"op":"add","path":"members","value":`+values(vs)+`},{"op":"add","path":"members","value":`+values(more)+`}`)
			add(vs)
			add(more)
		case op == 5:
			vs := pick(1 + rng.IntN(3))
			did = "remove " + strings.Join(vs, ",")
			patch(http.StatusNoContent, `{"op":"remove","path":"members","value":`+values(vs)+`}`)
			remove(vs)
		case op == 6 && rng.IntN(2) == 0:
			v := pick(1)
			did = "remove by filter " + v[0]
			patch(http.StatusNoContent, `{"op":"remove","path":"members[value eq \"`+v[0]+`\"]"}`)
			remove(v)
		case op == 6: // an add, then an element edited in place, in one PATCH
			vs, from, to := pick(1+rng.IntN(4)), pick(1)[0], fmt.Sprintf("r%d", step)
			did = "add " + strings.Join(vs, ",") + ", then rename " + from + " to " + to
			body := `{"op":"add","path":"members","value":` + values(vs) + `},
				{"op":"replace","path":"members[value eq \"` + from + `\"].value","value":"` + to + `"}`
			if !slices.Contains(model, from) && !slices.Contains(vs, from) {
				patch(http.StatusBadRequest, body) // the filter matches nothing: noTarget, nothing changes
				break
			}
			patch(http.StatusNoContent, body)
			add(vs)
			for i := range model {
				if model[i] == from {
					model[i] = to
				}
			}
			universe = append(universe, to)
		case op == 7:
			vs := pick(1 + rng.IntN(12))
			if rng.IntN(2) == 0 {
				did = "failing add " + strings.Join(vs, ",")
				patch(http.StatusBadRequest, `{"op":"add","path":"members","value":`+values(vs)+`},{"op":"replace","path":"id","value":"x"}`)
			} else { // a member without a value is refused, even after indexed adds
				did = "add " + strings.Join(vs, ",") + " and a member without a value"
				patch(http.StatusBadRequest, `{"op":"add","path":"members","value":`+values(vs)+`},{"op":"add","path":"members","value":[{"display":"x"}]}`)
			}
		case op == 8:
			vs := pick(rng.IntN(6))
			did = "PUT " + strings.Join(vs, ",")
			if r := send(t, s, "PUT", "/Groups/"+g, `{"displayName":"G","members":`+values(vs)+`}`); r.status != http.StatusOK {
				t.Fatalf("PUT = %d %v", r.status, r.body)
			}
			model = slices.Clone(vs) // as given, duplicates included
		default:
			u := users[rng.IntN(len(users))]
			did = "delete user " + u
			if r := send(t, s, "DELETE", "/Users/"+u, ""); r.status != http.StatusNoContent {
				t.Fatalf("DELETE user = %d %v", r.status, r.body)
			}
			remove([]string{u})
			users[slices.Index(users, u)] = mustCreate(t, s, "/Users", `{"userName":"`+u+`-again"}`)
		}
		r := send(t, s, "GET", "/Groups/"+g, "")
		var got []string
		m, _ := scimjson.Lookup(r.body, "members") // as a PATCH spelt it first
		if list, ok := m.([]any); ok {
			for _, m := range list {
				got = append(got, m.(map[string]any)["value"].(string))
			}
		}
		if !slices.Equal(got, model) {
			t.Fatalf("step %d (%s): members %v, want %v", step, did, got, model)
		}
	}
}

// TestEditInPlaceIsValidated: a PATCH that adds members and then edits one
// in place is validated whole: a member whose value it sets to null is
// refused, as without the add (found by a review).
func TestEditInPlaceIsValidated(t *testing.T) {
	s := newTestServer()
	g := mustCreate(t, s, "/Groups", `{"displayName":"G","members":[{"value":"a"}]}`)
	send(t, s, "PATCH", "/Groups/"+g, string(patchOf(`{"op":"add","path":"members","value":[{"value":"b"}]}`))) // indexes the members
	r := send(t, s, "PATCH", "/Groups/"+g, string(patchOf(`{"op":"add","path":"members","value":[{"value":"c"}]},
		{"op":"replace","path":"members[value eq \"a\"].value","value":null}`)))
	if r.status != http.StatusBadRequest {
		t.Errorf("PATCH setting a member's value to null after an add = %d %v, want 400", r.status, r.body)
	}
}
