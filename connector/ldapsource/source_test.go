package ldapsource_test

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"provisiond/adid"
	"provisiond/connector"
	"provisiond/connector/ldapsource"
)

// each runs the test against both servers.
func each(t *testing.T, f func(t *testing.T, srv *server)) {
	t.Run("OpenLDAP", func(t *testing.T) { f(t, slapd(t)) })
	t.Run("ActiveDirectory", func(t *testing.T) { f(t, samba(t)) })
}

func userAttrs(srv *server, upn string) map[string][]string {
	a := map[string][]string{"givenName": {"Ada"}, "sn": {"Lovelace"}, "displayName": {"Ada Lovelace"}, "mail": {upn}}
	if srv.flavor == ldapsource.FlavorAD {
		a["userPrincipalName"] = []string{upn}
	} else {
		a["uid"] = []string{strings.Split(upn, "@")[0]}
		a["employeeNumber"] = []string{"E-42"}
	}
	return a
}

func TestGetByDNAndAnchor(t *testing.T) {
	each(t, func(t *testing.T, srv *server) {
		ou := srv.ou(t)
		dn := srv.user(t, ou, "Ada Lovelace", userAttrs(srv, "ada-"+tag()+"@example.com"))
		gdn := srv.group(t, ou, "Engineers", []string{dn}, nil)
		src := srv.source(t, ou)
		anchor := srv.anchor(t, dn)
		for _, id := range []string{dn, strings.ToUpper(dn), strings.ReplaceAll(dn, ",", ", "), anchor, strings.ToUpper(anchor)} {
			o, err := src.Get(ctx(t), "USER", id)
			if err != nil {
				t.Fatalf("Get(%q) = %v", id, err)
			}
			if o.ID != anchor || o.Type != ldapsource.TypeUser {
				t.Errorf("Get(%q) = %s %s, want user %s (the anchor)", id, o.Type, o.ID, anchor)
			}
			if got := o.Attrs["distinguishedName"]; len(got) != 1 || !strings.EqualFold(got[0], dn) {
				t.Errorf("Get(%q) distinguishedName = %v, want %s", id, got, dn)
			}
			if o.Attrs["givenName"][0] != "Ada" || o.Attrs["accountEnabled"][0] != "True" || o.Disabled {
				t.Errorf("Get(%q) = %v (disabled %v)", id, o.Attrs, o.Disabled)
			}
		}
		g, err := src.Get(ctx(t), "group", gdn)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(g.Attrs["members"], []string{anchor}) {
			t.Errorf("group members = %v, want the member's anchor %s", g.Attrs["members"], anchor)
		}
		if len(g.Attrs["member"]) == 0 {
			t.Error("the group's raw member DNs are missing")
		}
		for _, id := range []string{"cn=nobody," + ou, "cn=x,ou=elsewhere,dc=nowhere", gdn, "cn=bad,,=", "not-an-anchor"} {
			if _, err := src.Get(ctx(t), "user", id); !connector.IsNotFound(err) {
				t.Errorf("Get(user %q) = %v, want KindNotFound", id, err)
			}
		}
		// A DN outside the containers the source reads is not found.
		narrow := srv.source(t, "ou=other-"+tag()+","+srv.cfg.BaseDNs[0])
		if _, err := narrow.Get(ctx(t), "user", dn); !connector.IsNotFound(err) {
			t.Errorf("Get(a DN outside the bases) = %v, want KindNotFound", err)
		}
	})
}

func TestActiveDirectoryAttributes(t *testing.T) {
	srv := samba(t)
	ou := srv.ou(t)
	a := userAttrs(srv, "grace-"+tag()+"@test.example.com")
	a["userAccountControl"] = []string{"546"} // disabled
	a["proxyAddresses"] = []string{"SMTP:grace@test.example.com", "smtp:g@test.example.com"}
	dn := srv.user(t, ou, "Grace Hopper", a)
	gdn := srv.group(t, ou, "Admirals", []string{dn}, nil)
	o, err := srv.source(t, ou).Get(ctx(t), "user", dn)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Disabled || o.Attrs["accountEnabled"][0] != "False" || o.Attrs["accountDisabled"][0] != "True" {
		t.Errorf("userAccountControl 546: Disabled %v, accountEnabled %v, accountDisabled %v; want disabled", o.Disabled, o.Attrs["accountEnabled"], o.Attrs["accountDisabled"])
	}
	// Binary attributes are the base64 of the bytes the server holds, as
	// Entra shows them (seed example 2); the ID is the GUID's string form.
	raw, err := srv.admin.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"objectGUID", "objectSid"}, nil))
	if err != nil || len(raw.Entries) != 1 {
		t.Fatalf("read the raw objectGUID and objectSid: %v", err)
	}
	rawGUID, rawSID := raw.Entries[0].GetRawAttributeValue("objectGUID"), raw.Entries[0].GetRawAttributeValue("objectSid")
	if got, want := o.Attrs["objectSid"], base64.StdEncoding.EncodeToString(rawSID); len(got) != 1 || got[0] != want {
		t.Errorf("objectSid = %v, want the base64 of its bytes, %s", got, want)
	}
	if sid, err := adid.SIDFromBase64(o.Attrs["objectSid"][0]); err != nil || !strings.HasPrefix(sid, "S-1-5-21-") {
		t.Errorf("objectSid %v reads as %q, %v; want S-1-5-21-...", o.Attrs["objectSid"], sid, err)
	}
	if got, want := o.Attrs["objectGUID"], base64.StdEncoding.EncodeToString(rawGUID); len(got) != 1 || got[0] != want {
		t.Errorf("objectGUID = %v, want the base64 of its bytes, %s", got, want)
	}
	if id, _ := adid.ImmutableID(o.ID); o.ID != adid.FormatGUID(rawGUID) || id != o.Attrs["objectGUID"][0] {
		t.Errorf("ID %s, want the objectGUID's string form %s", o.ID, adid.FormatGUID(rawGUID))
	}
	if got := o.Attrs["domainFQDN"]; len(got) != 1 || got[0] == "" {
		t.Errorf("domainFQDN = %v, want the directory's domain", got)
	}
	if got := o.Attrs["memberOf"]; len(got) != 1 || !strings.EqualFold(got[0], gdn) {
		t.Errorf("memberOf = %v, want %s", got, gdn)
	}
	for _, name := range []string{"sAMAccountName", "userPrincipalName", "proxyAddresses", "cn", "sn", "mail", "displayName"} {
		if len(o.Attrs[name]) == 0 {
			t.Errorf("attribute %s missing: %v", name, o.Attrs)
		}
	}
	for k := range o.Attrs {
		if strings.EqualFold(k, "unicodePwd") || strings.EqualFold(k, "userPassword") {
			t.Errorf("a password attribute %s is shown", k)
		}
	}
}

func TestOpenLDAPMemberOf(t *testing.T) {
	srv := slapd(t)
	ou := srv.ou(t)
	dn := srv.user(t, ou, "Ada", userAttrs(srv, "ada@example.com"))
	gdn := srv.group(t, ou, "Engineers", []string{dn}, nil)
	o, err := srv.source(t, ou).Get(ctx(t), "user", dn)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Attrs["memberOf"]; len(got) != 1 || !strings.EqualFold(got[0], gdn) {
		t.Errorf("memberOf = %v, want %s", got, gdn)
	}
	if got := o.Attrs["employeeNumber"]; !slices.Equal(got, []string{"E-42"}) {
		t.Errorf("employeeNumber = %v", got)
	}
	if _, ok := o.Attrs["userPassword"]; ok {
		t.Error("userPassword is shown")
	}
}

// feedAll reads the whole feed from watermark.
func feedAll(t *testing.T, src *ldapsource.Source, watermark string) ([]connector.Change, string) {
	t.Helper()
	var all []connector.Change
	for range 1000 {
		page, next, err := src.Changes(ctx(t), watermark, 100)
		if err != nil {
			t.Fatalf("Changes = %v", err)
		}
		if len(page) == 0 {
			return all, next
		}
		all, watermark = append(all, page...), next
	}
	t.Fatal("the feed does not end")
	return nil, ""
}

func TestChangeFeedIncremental(t *testing.T) {
	each(t, func(t *testing.T, srv *server) {
		ou := srv.ou(t)
		keep := srv.user(t, ou, "Keep", userAttrs(srv, "keep-"+tag()+"@example.com"))
		edit := srv.user(t, ou, "Edit", userAttrs(srv, "edit-"+tag()+"@example.com"))
		gone := srv.user(t, ou, "Gone", userAttrs(srv, "gone-"+tag()+"@example.com"))
		grp := srv.group(t, ou, "Team", []string{keep}, nil)
		src := srv.source(t, ou)
		head, err := src.Head(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if got, next := feedAll(t, src, head); len(got) != 0 || next != head {
			t.Fatalf("the feed from Head = %v, %q; want nothing", got, next)
		}
		editID, goneID, grpID := srv.anchor(t, edit), srv.anchor(t, gone), srv.anchor(t, grp)
		srv.modify(t, edit, map[string][]string{"displayName": {"Edited"}})
		srv.modify(t, grp, map[string][]string{"member": {keep, edit}})
		srv.del(t, gone)
		got, next := feedAll(t, src, head)
		has := func(typ, id string, deleted bool) bool {
			return slices.ContainsFunc(got, func(c connector.Change) bool {
				return strings.EqualFold(c.ObjectType, typ) && c.ID == id && c.Deleted == deleted
			})
		}
		if !has("user", editID, false) || !has("group", grpID, false) || !has("user", goneID, true) {
			t.Errorf("changes after a modify, a membership change and a delete = %+v; want user %s, group %s, deleted user %s",
				got, editID, grpID, goneID)
		}
		if has("user", srv.anchor(t, keep), false) {
			t.Errorf("the unchanged user is in the changes: %+v", got)
		}
		if again, next2 := feedAll(t, src, next); len(again) != 0 || next2 != next {
			t.Errorf("the feed after its end = %+v", again)
		}
		// The deleted user is gone: Get says so, which the engine reads.
		if _, err := src.Get(ctx(t), "user", goneID); !connector.IsNotFound(err) {
			t.Errorf("Get(deleted) = %v, want KindNotFound", err)
		}
		// Another flavor's or a forged watermark is refused: a full cycle.
		for _, wm := range []string{"ldap1.e30", "ldap1.!!", "rid=000,csn=20200101000000.000000Z#000000#000#000000"} {
			if _, _, err := src.Changes(ctx(t), wm, 10); connector.KindOf(err) != connector.KindInvalid {
				t.Errorf("Changes(%q) = %v, want KindInvalid", wm, err)
			}
		}
	})
}

// TestChangeFeedNewMemberOfAGroup: OpenLDAP keeps a group's member DN that
// no entry has (AD refuses one). When a user of that DN is created, the
// feed reports the group too, whose listing then holds the new member; an
// edit of a user created before the watermark does not bring its groups.
func TestChangeFeedNewMemberOfAGroup(t *testing.T) {
	srv := slapd(t)
	ou := srv.ou(t)
	old := srv.user(t, ou, "Old", userAttrs(srv, "old-"+tag()+"@example.com"))
	later := "cn=Later," + ou
	team := srv.group(t, ou, "Team", []string{old, later}, nil)
	src := srv.source(t, ou)
	// createTimestamp counts seconds: the watermark must be a second past
	// the user's creation for the edit below to be an edit.
	time.Sleep(1100 * time.Millisecond)
	srv.user(t, ou, "Other", userAttrs(srv, "other-"+tag()+"@example.com"))
	head, err := src.Head(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	teamID, oldID := srv.anchor(t, team), srv.anchor(t, old)
	has := func(cs []connector.Change, typ, id string) bool {
		return slices.ContainsFunc(cs, func(c connector.Change) bool { return strings.EqualFold(c.ObjectType, typ) && c.ID == id && !c.Deleted })
	}

	srv.modify(t, old, map[string][]string{"displayName": {"Old, edited"}})
	got, next := feedAll(t, src, head)
	if !has(got, "user", oldID) || has(got, "group", teamID) {
		t.Errorf("changes after an edit of an old member = %+v; want user %s and not its group %s", got, oldID, teamID)
	}

	srv.user(t, ou, "Later", userAttrs(srv, "later-"+tag()+"@example.com"))
	laterID := srv.anchor(t, later)
	got, _ = feedAll(t, src, next)
	if !has(got, "user", laterID) || !has(got, "group", teamID) {
		t.Errorf("changes after the user a group named was created = %+v; want user %s and group %s", got, laterID, teamID)
	}
	g, err := src.Get(ctx(t), "group", teamID)
	if err != nil {
		t.Fatal(err)
	}
	if ms := g.Attrs["members"]; !slices.Contains(ms, laterID) || !slices.Contains(ms, oldID) {
		t.Errorf("the group's members = %v, want %s and %s", ms, oldID, laterID)
	}
}

func TestChangeFeedStaleCookie(t *testing.T) {
	// A syncrepl cookie older than the session log holds makes slapd fall
	// back to a present phase, which cannot say what was deleted: the
	// source refuses it, and the cycle starts over.
	srv := slapd(t)
	ou := srv.ou(t)
	src := srv.source(t, ou)
	srv.user(t, ou, "Someone", userAttrs(srv, "someone@example.com"))
	// A cookie from before the database's first change.
	forged := forgeMark(t, src, "rid=000,csn=19700101000000.000000Z#000000#000#000000")
	if _, _, err := src.Changes(ctx(t), forged, 10); connector.KindOf(err) != connector.KindInvalid {
		t.Errorf("Changes(a cookie the session log does not reach) = %v, want KindInvalid", err)
	}
}

func TestTestSaysWhatFailed(t *testing.T) {
	each(t, func(t *testing.T, srv *server) {
		ou := srv.ou(t)
		if err := srv.source(t, ou).Test(ctx(t)); err != nil {
			t.Fatalf("Test() = %v", err)
		}
		for _, tt := range []struct {
			name string
			edit func(c *ldapsource.Config)
			kind connector.Kind
			code string
		}{
			{"wrong password", func(c *ldapsource.Config) { c.Password = "wrong" }, connector.KindUnauthorized, ldapsource.CodeBind},
			{"missing container", func(c *ldapsource.Config) { c.BaseDNs = []string{"ou=missing-" + tag() + "," + srv.cfg.BaseDNs[0]} }, connector.KindInvalid, ldapsource.CodeBaseDN},
			{"nothing listening", func(c *ldapsource.Config) { c.URL = "ldap://127.0.0.1:1" }, connector.KindTransient, ldapsource.CodeConnect},
			{"untrusted certificate", func(c *ldapsource.Config) { c.CAFile, c.CAPEM = "", nil }, connector.KindTransient, ldapsource.CodeTLS},
		} {
			cfg := srv.cfg
			cfg.BaseDNs = []string{ou}
			tt.edit(&cfg)
			src, err := ldapsource.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = src.Test(ctx(t))
			var ce *connector.Error
			if !asError(err, &ce) || ce.Kind != tt.kind || ce.Code != tt.code {
				t.Errorf("%s: Test() = %v, want kind %v code %s", tt.name, err, tt.kind, tt.code)
			}
		}
	})
}

func TestDeadline(t *testing.T) {
	srv := slapd(t)
	src := srv.source(t, srv.ou(t))
	c, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-c.Done()
	if _, err := src.List(c, "user", "", 10); connector.KindOf(err) != connector.KindTransient {
		t.Errorf("List after the deadline = %v, want KindTransient", err)
	}
}

func TestWatch(t *testing.T) {
	each(t, func(t *testing.T, srv *server) {
		ou := srv.ou(t)
		dn := srv.user(t, ou, "Watched", userAttrs(srv, "watched-"+tag()+"@example.com"))
		other := srv.user(t, srv.ou(t), "Elsewhere", userAttrs(srv, "elsewhere-"+tag()+"@example.com"))
		src := srv.source(t, ou)
		wctx, cancel := context.WithCancel(ctx(t))
		changed := make(chan struct{}, 100)
		done := make(chan error, 1)
		go func() { done <- src.Watch(wctx, func() { changed <- struct{}{} }) }()
		time.Sleep(500 * time.Millisecond) // the watch's refresh phase
		select {
		case <-changed:
			t.Fatal("changed() before any change")
		default:
		}
		srv.modify(t, other, map[string][]string{"displayName": {"Not watched " + tag()}})
		select {
		case <-changed:
			// AD tells of a user outside the containers too: its DN alone
			// cannot say whether it has just moved out of them.
			if srv.flavor != ldapsource.FlavorAD {
				t.Fatal("changed() after a change outside the containers watched")
			}
		case <-time.After(time.Second):
			if srv.flavor == ldapsource.FlavorAD {
				t.Fatal("no changed() after a change to an AD user outside the containers (it may have moved out)")
			}
		}
		start := time.Now()
		srv.modify(t, dn, map[string][]string{"displayName": {"Changed " + tag()}})
		select {
		case <-changed:
			t.Logf("notified %v after the modify", time.Since(start))
		case <-time.After(5 * time.Second):
			t.Fatal("no change notification within 5 s of a modify")
		}
		cancel()
		select {
		case err := <-done:
			if err != context.Canceled {
				t.Errorf("Watch after cancel = %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Watch did not return after its context ended")
		}
	})
}

func TestDiscover(t *testing.T) {
	each(t, func(t *testing.T, srv *server) {
		src := srv.source(t, srv.cfg.BaseDNs[0])
		for typ, want := range map[string][]string{"user": {"givenName", "sn", "mail", "cn", "displayName"}, "group": {"member", "cn"}} {
			attrs, err := src.Discover(ctx(t), typ)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]connector.AttributeInfo{}
			for _, a := range attrs {
				byName[strings.ToLower(a.Name)] = a
			}
			for _, n := range want {
				if _, ok := byName[strings.ToLower(n)]; !ok {
					t.Errorf("Discover(%s) lacks %s (%d attributes)", typ, n, len(attrs))
				}
			}
			if typ == "group" && byName["member"].Type != "Reference" {
				t.Errorf("member is %+v, want a Reference", byName["member"])
			}
			if typ == "user" && srv.flavor == ldapsource.FlavorAD && (byName["useraccountcontrol"].Type != "Integer" || byName["useraccountcontrol"].Multivalued) {
				t.Errorf("userAccountControl is %+v, want a single Integer", byName["useraccountcontrol"])
			}
		}
	})
}

// ldaps:// works as StartTLS does, the certificate checked against the CA.
func TestLDAPS(t *testing.T) {
	srv := samba(t)
	url := need(t, "samba.sh", "PROVISIOND_SAMBA_LDAPS_URL")[0]
	ou := srv.ou(t)
	dn := srv.user(t, ou, "Secure", userAttrs(srv, "secure-"+tag()+"@example.com"))
	cfg := srv.cfg
	cfg.URL, cfg.BaseDNs = url, []string{ou}
	src, err := ldapsource.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.Test(ctx(t)); err != nil {
		t.Fatalf("Test() over %s = %v", url, err)
	}
	if o, err := src.Get(ctx(t), "user", dn); err != nil || o.ID != srv.anchor(t, dn) {
		t.Errorf("Get over %s = %+v, %v", url, o.ID, err)
	}
	cfg.CAFile = "" // the system's roots do not know the test CA
	untrusted, _ := ldapsource.New(cfg)
	var ce *connector.Error
	if err := untrusted.Test(ctx(t)); !asError(err, &ce) || ce.Code != ldapsource.CodeTLS {
		t.Errorf("Test() over %s with an unknown CA = %v, want %s", url, err, ldapsource.CodeTLS)
	}
}
