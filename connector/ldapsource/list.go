package ldapsource

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"provisiond/connector"
)

// listingIdle is how long an unfinished listing keeps its connection.
const listingIdle = 5 * time.Minute

// A listing is one List in progress: LDAP paging cookies belong to the
// connection that got them, so a listing keeps its own connection between
// pages, and its token names it.
type listing struct {
	conn   *ldap.Conn
	typ    string
	base   int    // index into the bases
	cookie []byte // the server's paging cookie within that base
	used   time.Time
}

type listings struct {
	mu sync.Mutex
	m  map[string]*listing
}

// take removes and returns the listing of token.
func (l *listings) take(token string) *listing {
	l.mu.Lock()
	defer l.mu.Unlock()
	ls := l.m[token]
	delete(l.m, token)
	return ls
}

// keep stores ls under a new token.
func (l *listings) keep(ls *listing) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*listing{}
	}
	ls.used = time.Now()
	l.m[token] = ls
	return token
}

// expire closes the listings left unfinished for listingIdle and reports
// how many are left.
func (l *listings) expire() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for t, old := range l.m {
		if time.Since(old.used) > listingIdle {
			old.conn.Close()
			delete(l.m, t)
		}
	}
	return len(l.m)
}

// List implements connector.Lister with the server's paged results under
// each base in turn. A token is good for one call, within a few minutes.
func (s *Source) List(ctx context.Context, objectType, token string, pageSize int) (connector.Page, error) {
	if pageSize < 1 {
		return connector.Page{}, &connector.Error{Kind: connector.KindInvalid, Code: CodeProtocol,
			Message: fmt.Sprintf("the page size must be at least 1, not %d", pageSize)}
	}
	k, f, err := s.kindOf(ctx, objectType)
	if err != nil {
		return connector.Page{}, err
	}
	var ls *listing
	if token == "" {
		c, err := s.dial(ctx)
		if err != nil {
			return connector.Page{}, err
		}
		ls = &listing{conn: c, typ: k.name}
	} else if ls = s.lists.take(token); ls == nil || ls.typ != k.name {
		if ls != nil {
			ls.conn.Close()
		}
		return connector.Page{}, &connector.Error{Kind: connector.KindInvalid, Code: CodeProtocol,
			Message: fmt.Sprintf("the listing token %q is unknown or expired; list again from the start", token)}
	}
	entries, done, err := s.page(ctx, ls, f, k, pageSize)
	if err != nil {
		ls.conn.Close()
		return connector.Page{}, s.kinded(ctx, err, "listing "+k.name+"s")
	}
	objs, err := s.objects(ctx, f, k.name, entries)
	if err != nil {
		ls.conn.Close()
		return connector.Page{}, err
	}
	if done {
		ls.conn.Close()
		return connector.Page{Objects: objs}, nil
	}
	next := s.lists.keep(ls)
	s.mu.Lock()
	s.sweepLater()
	s.mu.Unlock()
	return connector.Page{Objects: objs, Next: next}, nil
}

// page reads the listing's next non-empty page, moving to the next base
// when one is exhausted; done means nothing follows.
func (s *Source) page(ctx context.Context, ls *listing, f Flavor, k kind, size int) ([]*ldap.Entry, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ls.conn.SetTimeout(remaining(ctx))
	stop := context.AfterFunc(ctx, func() { ls.conn.Close() })
	defer stop()
	for ls.base < len(s.cfg.bases) {
		paging := ldap.NewControlPaging(uint32(size))
		paging.SetCookie(ls.cookie)
		req := ldap.NewSearchRequest(s.cfg.bases[ls.base], ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			k.filter, attributes(f), []ldap.Control{paging})
		res, err := ls.conn.Search(req)
		if err != nil {
			return nil, false, brokenConn(ls.conn, err)
		}
		ls.cookie = nil
		if c, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging); ok {
			ls.cookie = c.Cookie
		}
		if len(ls.cookie) == 0 {
			ls.base++
		}
		if len(res.Entries) > 0 {
			return res.Entries, ls.base == len(s.cfg.bases), nil
		}
	}
	return nil, true, nil
}
