package graphapi

import (
	"net/http"
	"strconv"
	"strings"

	"provisiond/graphapi/odata"
	"provisiond/store"
)

// This file serves GET /users/$count and /groups/$count: the size of the
// collection, optionally filtered with $filter, as a text/plain number.
// As in Graph, counting directory objects needs the header
// ConsistencyLevel: eventual.

func (s *Server) countUsers(w http.ResponseWriter, r *http.Request) error {
	return s.count(w, r, userFields, func(after string, limit int) ([]map[string]any, error) {
		users, err := s.store.ListUsers(r.Context(), store.ListOptions{After: after, Limit: limit})
		out := make([]map[string]any, len(users))
		for i, u := range users {
			out[i] = userJSON(u)
		}
		return out, err
	})
}

func (s *Server) countGroups(w http.ResponseWriter, r *http.Request) error {
	return s.count(w, r, groupFields, func(after string, limit int) ([]map[string]any, error) {
		groups, err := s.store.ListGroups(r.Context(), store.ListOptions{After: after, Limit: limit})
		out := make([]map[string]any, len(groups))
		for i, g := range groups {
			out[i] = groupJSON(g)
		}
		return out, err
	})
}

func (s *Server) count(w http.ResponseWriter, r *http.Request, f fields, fetch func(after string, limit int) ([]map[string]any, error)) error {
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual") {
		return errorf(http.StatusBadRequest, "Request_BadRequest",
			"$count is not currently supported. Counting directory objects needs the request header ConsistencyLevel: eventual.")
	}
	q, err := odata.Parse(r.URL.RawQuery, f)
	if err != nil {
		return err
	}
	if q.Top != 0 || q.Select != nil || q.After != "" || q.Count {
		return badRequest("Only $filter applies to /$count; drop $top, $select, $count and $skiptoken.")
	}
	q.Count = true
	q.Top = 1 // the count covers the whole collection whatever the page size
	p, err := q.List(fetch)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write([]byte(strconv.Itoa(p.Count)))
	return err
}
