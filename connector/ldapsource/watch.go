package ldapsource

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/go-ldap/ldap/v3"

	"provisiond/connector"
)

// Watch implements connector.Watcher: a syncrepl refreshAndPersist search
// per base on OpenLDAP, a search with the change-notification control over
// the domain on AD, each on a connection of its own. changed is called after
// each change the server pushes; the refresh phase that comes first is
// not a change.
func (s *Source) Watch(ctx context.Context, changed func()) error {
	f, err := s.Flavor(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu sync.Mutex // changed is never called concurrently
		wg sync.WaitGroup
	)
	notify := func() {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() == nil {
			changed()
		}
	}
	bases := s.cfg.bases
	if f == FlavorAD {
		// AD notifies a subtree only from a naming context's root; what
		// lies outside the bases is dropped by watchBase.
		bases = []string{s.namingContext()}
	}
	for _, base := range bases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cancel(s.watchBase(ctx, f, base, notify))
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// watchBase watches one base until ctx ends or the connection fails; it
// always returns an error saying which.
func (s *Source) watchBase(ctx context.Context, f Flavor, base string, changed func()) error {
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetTimeout(0) // the search lasts as long as the watch
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	var resp ldap.Response
	if f == FlavorAD {
		// Show Deleted: a deletion moves the object to Deleted Objects,
		// which a notification search sees only with it.
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"objectGUID", "objectClass"}, []ldap.Control{ldap.NewControlMicrosoftNotification(), ldap.NewControlMicrosoftShowDeleted()})
		resp = c.SearchAsync(ctx, req, 16)
	} else {
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			feedFilter(f), []string{"1.1"}, nil)
		resp = c.Syncrepl(ctx, req, 64, ldap.SyncRequestModeRefreshAndPersist, nil, false)
	}
	refreshing := f != FlavorAD
	for resp.Next() {
		for _, ctl := range resp.Controls() {
			if info, ok := ctl.(*ldap.ControlSyncInfo); ok && refreshing &&
				(info.NewCookie != nil || info.RefreshDelete != nil || info.RefreshPresent != nil) {
				refreshing = false // the persist phase begins
			}
		}
		e := resp.Entry()
		if e == nil || refreshing {
			continue
		}
		// On AD, a change under the bases, a deletion (a tombstone has
		// moved to Deleted Objects), or a user or group elsewhere, which
		// may have just moved out of the bases.
		if f != FlavorAD || s.inBases(e.DN) || strings.Contains(e.DN, "\\0ADEL:") || len(s.classes(e)) == 1 {
			changed()
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := brokenConn(c, resp.Err()); err != nil {
		return s.kinded(ctx, err, "watching "+base)
	}
	return &connector.Error{Kind: connector.KindTransient, Code: CodeConnect, Message: "the server ended the watch of " + base}
}
