package odata

import (
	"strings"
	"testing"
)

var testPaths = NewPaths("v1.0", "users", "servicePrincipals", "synchronization", "jobs", "schema", "functions", "$count", "appId")

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"":                                       "/",
		"/":                                      "/",
		"/v1.0/USERS/":                           "/v1.0/users",
		"/v1.0/users/$COUNT":                     "/v1.0/users/$count",
		"/v1.0/servicePrincipals('a')":           "/v1.0/servicePrincipals/a",
		"/v1.0/servicePrincipals(appId='x''y')/": "/v1.0/servicePrincipals/appId=x'y",
		"/v1.0/serviceprincipals('a')/synchronization/jobs('b')/schema/functions()": "/v1.0/servicePrincipals/a/synchronization/jobs/b/schema/functions",
		"/v1.0/Unknown": "/v1.0/Unknown",
		// GUIDs in any case, as Graph takes them; other keys keep theirs.
		"/v1.0/users/8F0B8E41-AAAA-4000-8000-00000000000B":                      "/v1.0/users/8f0b8e41-aaaa-4000-8000-00000000000b",
		"/v1.0/users('8F0B8E41-AAAA-4000-8000-00000000000B')":                   "/v1.0/users/8f0b8e41-aaaa-4000-8000-00000000000b",
		"/v1.0/users/{8F0B8E41-AAAA-4000-8000-00000000000B}":                    "/v1.0/users/{8f0b8e41-aaaa-4000-8000-00000000000b}",
		"/v1.0/users(id='8F0B8E41-AAAA-4000-8000-00000000000B')":                "/v1.0/users/8f0b8e41-aaaa-4000-8000-00000000000b",
		"/v1.0/users(ID='a@contoso.com')/memberOf":                              "/v1.0/users/a@contoso.com/memberOf",
		"/v1.0/servicePrincipals(APPID='X')":                                    "/v1.0/servicePrincipals/appId=X",
		"/v1.0/users/Ada@Contoso.test":                                          "/v1.0/users/Ada@Contoso.test",
		"/v1.0/users/8F0B8E41-AAAA-4000-8000-00000000000B-X":                    "/v1.0/users/8F0B8E41-AAAA-4000-8000-00000000000B-X",
		"/v1.0/users/{8F0B8E41-AAAA-4000-8000-00000000000B":                     "/v1.0/users/{8F0B8E41-AAAA-4000-8000-00000000000B",
		"/v1.0/servicePrincipals(appId='0A5E7A53-1111-4000-8000-00000000000C')": "/v1.0/servicePrincipals/appId=0a5e7a53-1111-4000-8000-00000000000c",
	} {
		if got := testPaths.Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for p, want := range map[string]string{
		"/v1.0/users":                       "",
		"/v1.0/users/":                      "",
		"/":                                 "",
		"/v1.0/users/../../etc/passwd":      "'.' or '..'",
		"/v1.0/./users":                     "'.' or '..'",
		"/v1.0/users/..":                    "'.' or '..'",
		"/v1.0//users":                      "empty segment",
		"/v1.0/users('')":                   "The key in 'users('')' is empty",
		"/v1.0/users('')/memberOf":          "The key in 'users('')' is empty",
		"/v1.0/servicePrincipals(appId='')": "is empty",
		"/v1.0/users('a')":                  "",
		"/v1.0/users/functions()":           "",
		"*":                                 "must start with '/'",
		"":                                  "must start with '/'",
	} {
		err := CheckPath(p)
		switch {
		case want == "" && err != nil:
			t.Errorf("CheckPath(%q) = %v, want nil", p, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("CheckPath(%q) = %v, want an error containing %q", p, err, want)
		}
	}
}

// FuzzNormalizePath: normalizing never panics and is idempotent, and a
// normalized path CheckPath accepts has no dot segment.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/v1.0/servicePrincipals('a')/synchronization/jobs('b')/schema/functions()",
		"/v1.0/servicePrincipals(appId='x''y')/", "/v1.0/USERS/", "/", "", "/a(", "/a('", "/a()()",
		"/v1.0/users/8F0B8E41-AAAA-4000-8000-00000000000B", "/v1.0/users('{8F0B8E41-AAAA-4000-8000-00000000000B}')", "/a('')/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if g := GUID(p); !strings.EqualFold(g, p) || GUID(g) != g {
			t.Fatalf("GUID(%q) = %q: not the same up to case, or not idempotent", p, g)
		}
		once := testPaths.Normalize(p)
		if twice := testPaths.Normalize(once); twice != once && !strings.Contains(once, "(") {
			t.Fatalf("not idempotent: %q → %q → %q", p, once, twice)
		}
		if CheckPath(once) == nil {
			for seg := range strings.SplitSeq(once, "/") {
				if seg == "." || seg == ".." {
					t.Fatalf("CheckPath accepted %q (from %q)", once, p)
				}
			}
		}
	})
}
