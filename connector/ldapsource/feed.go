package ldapsource

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"provisiond/adid"
	"provisiond/connector"
)

// The change feed's watermark is the server's own cookie: one RFC 4533
// syncrepl cookie per base on OpenLDAP, one DirSync cookie on AD (DirSync
// reads the whole domain; the bases filter what it returns). A read from a
// cookie returns every object changed since, in no order the server
// promises, so the source sorts them by anchor and, when they do not fit
// in one call, pages with the key of the last change returned: "the
// changes after cookie C, from key K on". An object changed again (or
// deleted) meanwhile keeps its key, so paging skips nothing; one changed
// after the read is also in what follows the next cookie.

// mark is a decoded watermark.
type mark struct {
	Flavor  string   `json:"f"`
	Cookies [][]byte `json:"c"`
	After   string   `json:"a,omitempty"`
}

const markPrefix = "ldap1."

func (m mark) String() string {
	b, _ := json.Marshal(m)
	return markPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// parseMark decodes a watermark this source gave for flavor f and n
// bases ("" is the beginning).
func parseMark(s string, f Flavor, n int) (mark, error) {
	if s == "" {
		return mark{Flavor: f.String(), Cookies: make([][]byte, n)}, nil
	}
	var m mark
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, markPrefix))
	if err != nil || !strings.HasPrefix(s, markPrefix) {
		return m, errors.New("it is not an LDAP change-feed watermark")
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, errors.New("it is not an LDAP change-feed watermark")
	}
	if m.Flavor != f.String() {
		return m, fmt.Errorf("it is a watermark of %s, not of %s", m.Flavor, f)
	}
	if len(m.Cookies) != n {
		return m, fmt.Errorf("it has %d cookies, and the source reads %d containers (did they change?)", len(m.Cookies), n)
	}
	return m, nil
}

func staleMark(s *Source, why string) error {
	return &connector.Error{Kind: connector.KindInvalid, Code: CodeStaleCookie,
		Message: fmt.Sprintf("%s cannot continue the change feed from the watermark given: %s", s.Name(), why)}
}

// change is a Change with the key the feed sorts and pages by.
type change struct {
	connector.Change
	key string
}

// Changes implements connector.ChangeFeed.
func (s *Source) Changes(ctx context.Context, watermark string, max int) ([]connector.Change, string, error) {
	if max < 1 {
		return nil, "", &connector.Error{Kind: connector.KindInvalid, Code: CodeProtocol,
			Message: fmt.Sprintf("the number of changes to read must be at least 1, not %d", max)}
	}
	f, err := s.Flavor(ctx)
	if err != nil {
		return nil, "", err
	}
	m, err := parseMark(watermark, f, s.cookies(f))
	if err != nil {
		return nil, "", staleMark(s, err.Error())
	}
	all, cookies, err := s.cachedDelta(ctx, f, m)
	if err != nil {
		return nil, "", err
	}
	i, _ := slices.BinarySearchFunc(all, m.After, func(c change, k string) int { return strings.Compare(c.key, k) })
	if m.After != "" && i < len(all) && all[i].key == m.After {
		i++
	}
	rest := all[i:]
	if len(rest) == 0 {
		return nil, watermark, nil
	}
	if len(rest) <= max {
		return plain(rest), mark{Flavor: f.String(), Cookies: cookies}.String(), nil
	}
	page := rest[:max]
	return plain(page), mark{Flavor: f.String(), Cookies: m.Cookies, After: page[len(page)-1].key}.String(), nil
}

func plain(cs []change) []connector.Change {
	out := make([]connector.Change, len(cs))
	for i, c := range cs {
		out[i] = c.Change
	}
	return out
}

// deltaTTL is how long the changes read from a watermark's cookies serve
// the calls that page through them. Reusing a read is safe: what changed
// after it is also after the cookies it returned, which the last page
// hands on.
const deltaTTL = 10 * time.Second

// deltaCache is the last read of the change feed.
type deltaCache struct {
	mu      sync.Mutex
	key     string // the cookies read from
	at      time.Time
	changes []change
	next    [][]byte
}

// cachedDelta is delta from m's cookies. A page after the first (m.After
// set) reuses, for deltaTTL, the read the first page came from, so paging
// through many changes reads the server once rather than once per page; a
// first page always reads afresh, so a caller told of a change sees it.
func (s *Source) cachedDelta(ctx context.Context, f Flavor, m mark) ([]change, [][]byte, error) {
	key := mark{Flavor: m.Flavor, Cookies: m.Cookies}.String()
	c := &s.deltas
	c.mu.Lock()
	if m.After != "" && c.key == key && time.Since(c.at) < deltaTTL {
		defer c.mu.Unlock()
		return c.changes, c.next, nil
	}
	c.mu.Unlock()
	at := time.Now()
	all, next, err := s.delta(ctx, f, m.Cookies, false)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	c.key, c.at, c.changes, c.next = key, at, all, next
	c.mu.Unlock()
	return all, next, nil
}

// Head implements connector.ChangeFeed: the cookies of now.
func (s *Source) Head(ctx context.Context) (string, error) {
	f, err := s.Flavor(ctx)
	if err != nil {
		return "", err
	}
	_, cookies, err := s.delta(ctx, f, make([][]byte, s.cookies(f)), true)
	if err != nil {
		return "", err
	}
	return mark{Flavor: f.String(), Cookies: cookies}.String(), nil
}

// cookies is how many cookies a watermark holds on flavor f.
func (s *Source) cookies(f Flavor) int {
	if f == FlavorAD {
		return 1
	}
	return len(s.cfg.bases)
}

// delta reads what changed after cookies (nil: everything), sorted by
// key and without duplicates, and the cookies after it. With headOnly the
// changes are not kept.
func (s *Source) delta(ctx context.Context, f Flavor, cookies [][]byte, headOnly bool) ([]change, [][]byte, error) {
	var (
		all  []change
		next = make([][]byte, len(cookies))
	)
	add := func(typ, id string, deleted bool) {
		if !headOnly {
			all = append(all, change{Change: connector.Change{ObjectType: typ, ID: id, Deleted: deleted}, key: id + "/" + typ})
		}
	}
	for i, cookie := range cookies {
		var err error
		if f == FlavorAD {
			next[i], err = s.dirSync(ctx, cookie, headOnly, add)
		} else {
			next[i], err = s.syncrepl(ctx, s.cfg.bases[i], cookie, headOnly, add)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	slices.SortFunc(all, func(a, b change) int { return strings.Compare(a.key, b.key) })
	all = slices.CompactFunc(all, func(a, b change) bool { return a.key == b.key })
	return all, next, nil
}

// feedFilter matches the users and groups a feed reports.
func feedFilter(f Flavor) string {
	if f == FlavorAD {
		// Not objectCategory: tombstones lose it.
		return "(|(objectClass=user)(objectClass=group))"
	}
	return "(|" + classFilter(f, TypeUser) + classFilter(f, TypeGroup) + ")"
}

// classes reports the types an entry's objectClass values name; none
// (AD's deltas may leave objectClass out) means either.
func (s *Source) classes(e *ldap.Entry) []string {
	var user, group bool
	for _, oc := range e.GetEqualFoldAttributeValues("objectClass") {
		switch {
		case strings.EqualFold(oc, "computer"):
			return nil
		case s.Class(oc) == connector.ClassUser:
			user = true
		case s.Class(oc) == connector.ClassGroup:
			group = true
		}
	}
	switch {
	case group:
		return []string{TypeGroup}
	case user:
		return []string{TypeUser}
	}
	return []string{TypeUser, TypeGroup}
}

// syncrepl runs an RFC 4533 refreshOnly search under base from cookie.
func (s *Source) syncrepl(ctx context.Context, base string, cookie []byte, headOnly bool, add func(typ, id string, deleted bool)) ([]byte, error) {
	incremental := len(cookie) > 0
	attrs := []string{"entryUUID", "objectClass", "createTimestamp"}
	if headOnly {
		attrs = []string{"1.1"}
	}
	since, dated := cookieTime(cookie)
	var next []byte
	var created []string // DNs of the users created since the cookie
	stale := ""
	err := s.with(ctx, func(ctx context.Context, c *ldap.Conn) error {
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, feedFilter(FlavorOpenLDAP), attrs, nil)
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		resp := c.Syncrepl(sctx, req, 256, ldap.SyncRequestModeRefreshOnly, cookie, false)
		for resp.Next() {
			var state *ldap.ControlSyncState
			for _, ctl := range resp.Controls() {
				switch ctl := ctl.(type) {
				case *ldap.ControlSyncState:
					state = ctl
				case *ldap.ControlSyncInfo:
					switch {
					case ctl.NewCookie != nil:
						next = ctl.NewCookie.Cookie
					case ctl.RefreshDelete != nil && ctl.RefreshDelete.Cookie != nil:
						next = ctl.RefreshDelete.Cookie
					case ctl.RefreshPresent != nil:
						if ctl.RefreshPresent.Cookie != nil {
							next = ctl.RefreshPresent.Cookie
						}
						if incremental {
							stale = "the server no longer keeps the changes since (it sent a present phase)"
						}
					case ctl.SyncIdSet != nil:
						if ctl.SyncIdSet.Cookie != nil {
							next = ctl.SyncIdSet.Cookie
						}
						if !ctl.SyncIdSet.RefreshDeletes {
							if incremental {
								stale = "the server no longer keeps the changes since (it sent a present phase)"
							}
							continue
						}
						for _, u := range ctl.SyncIdSet.SyncUUIDs {
							// A delete does not say what the entry was.
							add(TypeUser, u.String(), true)
							add(TypeGroup, u.String(), true)
						}
					}
				case *ldap.ControlSyncDone:
					if ctl.Cookie != nil {
						next = ctl.Cookie
					}
					if incremental && !ctl.RefreshDeletes {
						stale = "the server no longer keeps the changes since (it answered with a present phase)"
					}
				}
			}
			e := resp.Entry()
			if e == nil || state == nil {
				continue
			}
			id := state.EntryUUID.String()
			switch state.State {
			case ldap.SyncStateDelete:
				add(TypeUser, id, true)
				add(TypeGroup, id, true)
			case ldap.SyncStateAdd, ldap.SyncStateModify:
				if headOnly {
					continue
				}
				typs := s.classes(e)
				for _, typ := range typs {
					add(typ, id, false)
				}
				if incremental && dated && slices.Equal(typs, []string{TypeUser}) && createdSince(e, since) {
					created = append(created, e.DN)
				}
			case ldap.SyncStatePresent:
				if incremental {
					stale = "the server no longer keeps the changes since (it sent a present phase)"
				}
			}
		}
		return resp.Err()
	})
	if err != nil {
		if incremental && ldap.IsErrorAnyOf(err, ldap.LDAPResultProtocolError, ldap.LDAPResultSyncRefreshRequired) {
			return nil, staleMark(s, err.Error())
		}
		return nil, s.kinded(ctx, err, "syncrepl under "+base)
	}
	if stale != "" {
		return nil, staleMark(s, stale)
	}
	if err := s.groupsNaming(ctx, base, created, add); err != nil {
		return nil, err
	}
	if next == nil {
		next = cookie
	}
	return next, nil
}

// groupsNaming adds a change for every group under base that names one of
// the DNs as a member. OpenLDAP (without the refint overlay) keeps a
// member DN no entry has: the group's listing leaves it out, and when a
// user of that DN is created later the group itself does not change, so
// the feed would not bring the new member to the target before a full
// cycle.
func (s *Source) groupsNaming(ctx context.Context, base string, dns []string, add func(typ, id string, deleted bool)) error {
	const batch = 100
	for len(dns) > 0 {
		n := min(batch, len(dns))
		var b strings.Builder
		b.WriteString("(&" + classFilter(FlavorOpenLDAP, TypeGroup) + "(|")
		for _, dn := range dns[:n] {
			v := ldap.EscapeFilter(dn)
			b.WriteString("(member=" + v + ")(uniqueMember=" + v + ")")
		}
		b.WriteString("))")
		dns = dns[n:]
		es, err := s.paged(ctx, ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			b.String(), []string{"entryUUID"}, nil))
		if err != nil {
			return err
		}
		for _, e := range es {
			if id := e.GetAttributeValue("entryUUID"); id != "" {
				add(TypeGroup, strings.ToLower(id), false)
			}
		}
	}
	return nil
}

// cookieTime is the time of the oldest change CSN in a syncrepl cookie
// ("rid=000,csn=20261202140000.123456Z#000000#000#000000;..."): what the
// cookie has seen was written before it.
func cookieTime(cookie []byte) (time.Time, bool) {
	_, csns, ok := strings.Cut(string(cookie), "csn=")
	if !ok {
		return time.Time{}, false
	}
	csns, _, _ = strings.Cut(csns, ",")
	var oldest time.Time
	for csn := range strings.SplitSeq(csns, ";") {
		stamp, _, _ := strings.Cut(csn, "#")
		t, err := time.Parse("20060102150405.999999Z", stamp)
		if err != nil {
			return time.Time{}, false
		}
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	return oldest, !oldest.IsZero()
}

// createdSince reports whether the entry's createTimestamp (to the second)
// is not before t: created after the cookie, or in its last second.
func createdSince(e *ldap.Entry, t time.Time) bool {
	at, err := time.Parse("20060102150405Z", e.GetAttributeValue("createTimestamp"))
	return err == nil && !at.Before(t.Truncate(time.Second))
}

// dirSync runs DirSync over the domain from cookie, keeping what lies
// under the bases (a tombstone by its last known parent). It asks for
// every attribute: DirSync reports only changes to the attributes asked
// for, and leaves out objectClass when it did not change, so live objects
// are classified by a second, batched, search.
func (s *Source) dirSync(ctx context.Context, cookie []byte, headOnly bool, add func(typ, id string, deleted bool)) ([]byte, error) {
	nc := s.namingContext()
	if nc == "" {
		return nil, &connector.Error{Kind: connector.KindInvalid, Code: CodeBaseDN, Message: s.Name() + " names no default naming context for DirSync"}
	}
	incremental := len(cookie) > 0
	var live [][]byte // objectGUIDs of changed live objects
	var attrs []string
	if headOnly {
		// Only the cookie matters: asking for one attribute that does not
		// replicate keeps the domain's objects off the wire, and the
		// cookie still continues a read of every attribute.
		attrs = []string{"objectGUID"}
	}
	err := s.with(ctx, func(ctx context.Context, c *ldap.Conn) error {
		for range 100000 {
			req := ldap.NewSearchRequest(nc, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, feedFilter(FlavorAD), attrs, nil)
			res, err := c.DirSync(req, 0, 1<<20, cookie)
			if err != nil {
				return err
			}
			for _, e := range res.Entries {
				if headOnly {
					continue
				}
				raw := e.GetRawAttributeValue("objectGUID")
				if len(raw) != 16 {
					continue
				}
				deleted := strings.EqualFold(e.GetAttributeValue("isDeleted"), "TRUE") || strings.Contains(e.DN, "\\0ADEL:") || strings.Contains(e.DN, "\nDEL:")
				if !deleted {
					// Outside the bases too: one moved out of them has left
					// the source (classify says so).
					live = append(live, raw)
					continue
				}
				if p := plainDN(e.GetAttributeValue("lastKnownParent")); p != "" && !s.inBases(p) {
					continue
				}
				if slices.ContainsFunc(e.GetEqualFoldAttributeValues("objectClass"), func(oc string) bool { return strings.EqualFold(oc, "computer") }) {
					continue
				}
				for _, typ := range s.classes(e) {
					add(typ, adid.FormatGUID(raw), true)
				}
			}
			ctl, _ := ldap.FindControl(res.Controls, ldap.ControlTypeDirSync).(*ldap.ControlDirSync)
			if ctl == nil {
				return errors.New("the server answered DirSync without its control")
			}
			if len(ctl.Cookie) > 0 {
				cookie = ctl.Cookie
			}
			if ctl.Flags == 0 { // no more data
				return nil
			}
		}
		return errors.New("DirSync did not end")
	})
	if err != nil {
		if incremental && !isNetwork(err) && ctx.Err() == nil && ldap.IsErrorAnyOf(err, ldap.LDAPResultProtocolError, ldap.LDAPResultUnwillingToPerform, ldap.LDAPResultOther) {
			return nil, staleMark(s, err.Error())
		}
		return nil, s.kinded(ctx, err, "DirSync")
	}
	if err := s.classify(ctx, live, add); err != nil {
		return nil, err
	}
	return cookie, nil
}

// classify reads the objectClass of live objects by objectGUID, in
// batches, and adds a change for each user and group among them: a
// deletion for those outside the bases, which the source no longer has
// (moved out of them, or never in; either is nothing to the engine
// without an anchor).
func (s *Source) classify(ctx context.Context, guids [][]byte, add func(typ, id string, deleted bool)) error {
	const batch = 200
	for len(guids) > 0 {
		n := min(batch, len(guids))
		var b strings.Builder
		b.WriteString("(&" + feedFilter(FlavorAD) + "(|")
		for _, g := range guids[:n] {
			b.WriteString("(objectGUID=")
			for _, c := range g {
				fmt.Fprintf(&b, "\\%02x", c)
			}
			b.WriteString(")")
		}
		b.WriteString("))")
		guids = guids[n:]
		es, err := s.paged(ctx, ldap.NewSearchRequest(s.namingContext(), ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			b.String(), []string{"objectGUID", "objectClass"}, nil))
		if err != nil {
			return err
		}
		for _, e := range es {
			cls := s.classes(e)
			if len(cls) == 1 { // not a computer, not unknown
				add(cls[0], adid.FormatGUID(e.GetRawAttributeValue("objectGUID")), !s.inBases(e.DN))
			}
		}
	}
	return nil
}

// plainDN strips AD's extended DN prefixes (<GUID=...>;<SID=...>;) off dn.
func plainDN(dn string) string {
	for strings.HasPrefix(dn, "<") {
		i := strings.Index(dn, ">;")
		if i < 0 {
			return dn
		}
		dn = dn[i+2:]
	}
	return dn
}
