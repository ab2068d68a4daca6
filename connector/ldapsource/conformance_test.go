package ldapsource_test

import (
	"testing"

	"provisiond/connector"
	"provisiond/connector/connectortest"
	"provisiond/connector/ldapsource"
)

// seed stores the suite's data under a fresh OU and returns a source over
// that OU and the anchors of its objects.
func seed(t *testing.T, srv *server, d connectortest.SourceData) (connector.Source, map[string]string) {
	ou := srv.ou(t)
	dns := map[string]string{}
	for _, u := range d.Users {
		a := map[string][]string{}
		for k, v := range u.Attrs {
			switch k {
			case "surname":
				k = "sn"
			case "jobTitle":
				k = "title"
			case "otherMails":
				if srv.flavor != ldapsource.FlavorAD {
					continue // inetOrgPerson has none
				}
				k = "otherMailbox"
			}
			a[k] = v
		}
		if srv.flavor == ldapsource.FlavorAD {
			a["userPrincipalName"] = []string{u.UserPrincipalName}
			if !u.AccountEnabled {
				a["userAccountControl"] = []string{"546"} // | ACCOUNTDISABLE
			}
		} else {
			a["uid"] = []string{u.UserPrincipalName}
		}
		dns[u.Key] = srv.user(t, ou, u.Key, a)
	}
	// Groups whose members are groups come after them.
	pending := d.Groups
	for len(pending) > 0 {
		var later []connectortest.SourceGroup
		for _, g := range pending {
			var members []string
			ready := true
			for _, m := range g.Members {
				if dns[m] == "" {
					ready = false
				}
				members = append(members, dns[m])
			}
			if !ready {
				later = append(later, g)
				continue
			}
			var attrs map[string][]string
			if srv.flavor == ldapsource.FlavorAD {
				attrs = map[string][]string{"displayName": {g.DisplayName}}
			}
			dns[g.Key] = srv.group(t, ou, g.DisplayName, members, attrs)
		}
		if len(later) == len(pending) {
			t.Fatal("the groups' members form a cycle")
		}
		pending = later
	}
	ids := map[string]string{}
	for k, dn := range dns {
		ids[k] = srv.anchor(t, dn)
	}
	return srv.source(t, ou), ids
}

func TestConformanceOpenLDAP(t *testing.T) {
	srv := slapd(t)
	connectortest.RunSourceProfile(t, connectortest.SourceProfile{
		UserNames:    map[string]string{"surname": "sn", "jobTitle": "title", "otherMails": "", "userPrincipalName": "uid"},
		GroupNames:   map[string]string{"displayName": "cn"},
		NoSoftDelete: true, NoDisable: true,
	}, func(t *testing.T, d connectortest.SourceData) (connector.Source, map[string]string) {
		return seed(t, srv, d)
	})
}

func TestConformanceActiveDirectory(t *testing.T) {
	srv := samba(t)
	connectortest.RunSourceProfile(t, connectortest.SourceProfile{
		UserNames:    map[string]string{"surname": "sn", "jobTitle": "title", "otherMails": "otherMailbox"},
		NoSoftDelete: true,
	}, func(t *testing.T, d connectortest.SourceData) (connector.Source, map[string]string) {
		return seed(t, srv, d)
	})
}
