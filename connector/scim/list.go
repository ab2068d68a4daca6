package scim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"provisiond/connector"
)

var _ connector.Lister = (*Client)(nil)

// List implements connector.Lister with RFC 7644 §3.4.2.4 paging:
// GET /Users or /Groups?startIndex=…&count=pageSize (no more than
// /ServiceProviderConfig's filter.maxResults). The token is the startIndex
// of the next page. A server may answer fewer resources than asked for:
// the next page starts after those it did answer, and the listing ends at
// totalResults. One that answers more (a server that does not page and
// answers everything) gives them all on the page. Objects are as Get
// returns them: groups with their members, read as the profile's
// MembershipRead says (with userFilter, the page is read without members
// and each group's members with one more listing).
//
// startIndex is an offset, so a resource created or deleted during a
// listing can shift the others: one may then be listed twice or not at
// all. A page asked past the end (the listing shrank) is empty and the
// last, whatever the server answers to it (SCIMMY answers the first page).
// A server that answers another startIndex than asked, or no resources
// before totalResults, does not page: KindInvalid,
// SystemForCrossDomainIdentityManagementServiceIncompatible.
func (c *Client) List(ctx context.Context, objectType, token string, pageSize int) (connector.Page, error) {
	endpoint, typ, err := resourceType(objectType)
	if err != nil {
		return connector.Page{}, err
	}
	if pageSize < 1 {
		return connector.Page{}, &connector.Error{Kind: connector.KindInvalid,
			Message: fmt.Sprintf("List page size %d: want at least 1.", pageSize)}
	}
	start := 1
	if token != "" {
		if start, err = strconv.Atoi(token); err != nil || start < 1 {
			return connector.Page{}, &connector.Error{Kind: connector.KindInvalid,
				Message: fmt.Sprintf("List token %q is not a startIndex (a whole number from 1) from an earlier page.", token)}
		}
	}
	caps, err := c.capabilities(ctx)
	if err != nil {
		return connector.Page{}, err
	}
	if caps.maxResults > 0 {
		pageSize = min(pageSize, caps.maxResults)
	}
	q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(pageSize)}}
	membersApart := typ == connector.TypeGroup && c.profile.MembershipRead == MembershipByUserFilter
	if membersApart {
		q.Set("excludedAttributes", "members")
	}
	resp, err := c.do(ctx, http.MethodGet, endpoint, q, nil)
	if err != nil {
		return connector.Page{}, err
	}
	lr, err := decodeList(http.MethodGet, endpoint, resp)
	if err != nil {
		return connector.Page{}, err
	}
	what := fmt.Sprintf("%s?startIndex=%d&count=%d", endpoint, start, pageSize)
	switch {
	case lr.startIndex != 0 && lr.startIndex != start:
		return connector.Page{}, incompatible(http.MethodGet, what, resp,
			fmt.Sprintf("it answered startIndex %d (the server does not page)", lr.startIndex))
	case start > lr.total:
		return connector.Page{}, nil
	case len(lr.resources) == 0:
		return connector.Page{}, incompatible(http.MethodGet, what, resp,
			fmt.Sprintf("no resources, but totalResults is %d (the server does not page)", lr.total))
	}
	var page connector.Page
	seen := map[string]bool{}
	for _, r := range lr.resources {
		id, _ := scalarString(r["id"])
		if id == "" {
			return connector.Page{}, incompatible(http.MethodGet, what, resp, "a resource has no id")
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		if membersApart {
			if err := c.addGroupMembers(ctx, r, id); err != nil {
				return connector.Page{}, err
			}
		}
		page.Objects = append(page.Objects, connector.Object{ID: id, Type: typ, Attrs: Flatten(r)})
	}
	if next := start + len(lr.resources); next <= lr.total {
		page.Next = strconv.Itoa(next)
	}
	return page, nil
}
