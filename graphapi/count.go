package graphapi

import (
	"net/http"
	"strconv"

	"provisiond/graphapi/odata"
)

// This file serves GET /{set}/$count (users, groups, servicePrincipals): the size of the
// collection, optionally filtered with $filter, as a text/plain number.
// As in Graph, counting directory objects needs the header
// ConsistencyLevel: eventual.

func (res resource[T]) count(w http.ResponseWriter, r *http.Request) error {
	if err := needEventual(r); err != nil {
		return err
	}
	q, err := odata.Parse(r.URL.RawQuery, res.fields)
	if err != nil {
		return err
	}
	if q.Top != 0 || q.Select != nil || q.After != "" || q.Count {
		return badRequest("Only $filter applies to /$count; drop $top, $select, $count and $skiptoken.")
	}
	q.Count = true
	q.Top = 1 // the count covers the whole collection whatever the page size
	p, err := q.List(res.views(r.Context()))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write([]byte(strconv.Itoa(p.Count)))
	return err
}
