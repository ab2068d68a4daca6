package graphapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"provisiond/store"
)

// This file holds the one get/list/update/delete implementation the
// directory's entity sets (users, groups, applications, service
// principals) share; each declares a resource with only what differs.

// resource describes one directory entity set of objects of type T.
type resource[T any] struct {
	set    string                 // entity set, also the context URL fragment: "users"
	key    string                 // the path wildcard naming one object: "userId"
	fields fields                 // what $select and $filter may name
	view   func(T) map[string]any // the Graph representation
	// find resolves the key in the URL; a missing object is the API's 404.
	find func(ctx context.Context, key string) (T, error)
	// fetch lists objects in id order (store.ListOptions); nil: no listing.
	fetch func(ctx context.Context, o store.ListOptions) ([]T, error)

	// Writable resources declare how a validated PATCH body changes an
	// object and how a change is stored: edit reads the object with this
	// id and stores what change left in one store transaction (EditUser,
	// EditGroup), so that no write in between is lost (this process's,
	// a cycle's into the directory, another node's); a PATCH after a
	// DELETE finds nothing (404). change must not call the store.
	spec  objectSpec
	apply func(v *T, d decoded) error
	edit  func(ctx context.Context, id string, change func(v *T) error) error
	// link, if set, checks a PATCH body's @odata.bind references before
	// anything is written, and returns what writes them once the object
	// is stored (nil: none).
	link func(ctx context.Context, v T, d decoded) (func() error, error)
	// Deletable resources declare one of: remove, which deletes an object,
	// or softDelete, which marks it deleted with edit (the provisioning
	// source still sees it, to deprovision it).
	remove     func(ctx context.Context, v T) error
	softDelete func(v *T)
	// id names an object's id.
	id func(T) string
}

// get serves GET /{set}/{key} with $select.
func (res resource[T]) get(w http.ResponseWriter, r *http.Request) error {
	q, err := parseSelect(r, res.fields)
	if err != nil {
		return err
	}
	v, err := res.find(r.Context(), r.PathValue(res.key))
	if err != nil {
		return err
	}
	return writeEntity(w, r, http.StatusOK, res.set, q, res.view(v))
}

// list serves GET /{set} with $select, $filter, $top, $count and paging.
func (res resource[T]) list(w http.ResponseWriter, r *http.Request) error {
	q, err := parseDirectoryQuery(r, res.fields)
	if err != nil {
		return err
	}
	p, err := q.List(res.views(r.Context()))
	if err != nil {
		return err
	}
	return writeCollection(w, r, res.set, q, p)
}

// views pages through the set's objects as their JSON views.
func (res resource[T]) views(ctx context.Context) func(after string, limit int) ([]map[string]any, error) {
	return func(after string, limit int) ([]map[string]any, error) {
		vs, err := res.fetch(ctx, store.ListOptions{After: after, Limit: limit})
		out := make([]map[string]any, len(vs))
		for i, v := range vs {
			out[i] = res.view(v)
		}
		return out, err
	}
}

// update serves PATCH /{set}/{key}: 204 once the object is stored.
func (res resource[T]) update(w http.ResponseWriter, r *http.Request) error {
	v, err := res.find(r.Context(), r.PathValue(res.key))
	if err != nil {
		return err
	}
	d, err := decodeBody(w, r, res.spec, false)
	if err != nil {
		return err
	}
	var commit func() error
	switch {
	case res.link != nil:
		if commit, err = res.link(r.Context(), v, d); err != nil {
			return err
		}
	case len(d.binds) > 0:
		return dirBadRequest("@odata.bind is not supported when updating %s.", res.set)
	}
	err = res.edit(r.Context(), res.id(v), func(v *T) error {
		if err := res.spec.checkReadOnly(d, res.view(*v)); err != nil {
			return err
		}
		return res.apply(v, d)
	})
	if err == nil && commit != nil {
		err = commit()
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// delete serves DELETE /{set}/{key}: 204.
func (res resource[T]) delete(w http.ResponseWriter, r *http.Request) error {
	v, err := res.find(r.Context(), r.PathValue(res.key))
	if err != nil {
		return err
	}
	if res.softDelete != nil {
		err = res.edit(r.Context(), res.id(v), func(v *T) error { res.softDelete(v); return nil })
	} else {
		err = res.remove(r.Context(), v)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// storeEdit makes a resource's edit of a store's EditUser or EditGroup: an
// object deleted meanwhile is a 404, an *Error of change passes as is,
// ErrConflict is conflict (nil: storeErr's).
func storeEdit[T any](edit func(context.Context, string, func(*T) error) (T, error), deleted func(*T) bool, conflict *Error) func(context.Context, string, func(*T) error) error {
	return func(ctx context.Context, id string, change func(*T) error) error {
		_, err := edit(ctx, id, func(v *T) error {
			if deleted(v) {
				return storeErr(store.ErrNotFound, id)
			}
			return change(v)
		})
		var ge *Error
		switch {
		case errors.As(err, &ge):
			return err
		case conflict != nil && errors.Is(err, store.ErrConflict):
			return conflict
		}
		return storeErr(err, id)
	}
}

// refTarget is the object a DELETE .../{wildcard}/$ref names: its id in the
// path, or an @odata.id URL in ?$id=; a user may be named by
// userPrincipalName. missing is the 400's message when neither is given.
func (s *Server) refTarget(r *http.Request, wildcard, missing string) (string, error) {
	set, id := "directoryObjects", r.PathValue(wildcard)
	if id == "" {
		ref := r.URL.Query().Get("$id")
		if ref == "" {
			return "", dirBadRequest("%s", missing)
		}
		var err error
		if set, id, err = parseRef(ref); err != nil {
			return "", err
		}
	}
	return s.userIDOf(r.Context(), set, id)
}

// assignmentsOf serves GET /{set}/{key}/appRoleAssignments: the app role
// assignments the object (a user or a group) holds.
func assignmentsOf[T any](s *Server, res resource[T]) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := res.find(r.Context(), r.PathValue(res.key))
		if err != nil {
			return err
		}
		return s.listAssignmentsOf(w, r, res.set+"('"+res.id(v)+"')/appRoleAssignments", res.id(v))
	}
}

// decodeBody reads a directory request body and validates it against spec.
func decodeBody(w http.ResponseWriter, r *http.Request, spec objectSpec, create bool) (decoded, error) {
	raw, err := readBody(w, r)
	if err != nil {
		return decoded{}, err
	}
	return spec.decode(raw, create)
}

// readBody reads a JSON request body (gzip or plain) as is, for the
// directory's own decoders, which check its text property by property.
func readBody(w http.ResponseWriter, r *http.Request) (json.RawMessage, error) {
	raw, present, err := readJSON(w, r)
	if err == nil && !present {
		return nil, emptyBody()
	}
	return raw, err
}
