package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"provisiond/auth"
	"provisiond/cmd/provisiond/wiring"
	"provisiond/portal"
	"provisiond/secrets"
)

// token mints a bearer token that a server using the same data directory
// accepts, and prints only the token, or with --web a one-time sign-in link
// to the admin pages. It refuses permission and directory
// role names provisiond does not know (a typo would only mint a token that
// gets 403s), and a data directory without a signing key unless --init says
// to create one (a new key would mint tokens no running server accepts).
func token(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	data := fs.String("data", "./provisiond-data", "data directory of the server that is to accept the token (holds the signing key)")
	storeURL := fs.String("store", "", "the PostgreSQL store (postgres://...) of the nodes that are to accept the token: refuse when --data does not hold their keys")
	initKey := fs.Bool("init", false, "create a signing key and tenant id in --data if it holds none")
	app := fs.String("app", "", "application name: mint an application token")
	roles := fs.String("roles", "", "application permissions, comma-separated: "+strings.Join(auth.ApplicationPermissions(), ", "))
	user := fs.String("user", "", "user principal name: mint a delegated token")
	scopes := fs.String("scopes", "", "delegated permissions, comma-separated: "+strings.Join(auth.DelegatedPermissions(), ", "))
	dirRoles := fs.String("directory-roles", "", "directory roles, comma-separated: "+strings.Join(auth.DirectoryRoleNames(), ", "))
	ttl := fs.Duration("ttl", time.Hour, "token lifetime (with --web: the session's)")
	web := fs.Bool("web", false, "print a one-time link that signs the admin pages in with the token (valid 10 minutes, once) instead of the token")
	publicURL := fs.String("public-url", "http://127.0.0.1:8080", "with --web: the server's base URL, as its --public-url or --addr")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if (*app == "") == (*user == "") {
		return errors.New("token: give exactly one of --app NAME or --user UPN (see provisiond token --help)")
	}
	if *app != "" && (*scopes != "" || *dirRoles != "") {
		return errors.New("token: --scopes and --directory-roles go with --user; an --app token takes --roles")
	}
	if *user != "" && *roles != "" {
		return errors.New("token: --roles goes with --app; a --user token takes --scopes and --directory-roles")
	}
	if err := known("--roles", "application permission", split(*roles), auth.ApplicationPermissions()); err != nil {
		return err
	}
	if err := known("--scopes", "delegated permission", split(*scopes), auth.DelegatedPermissions()); err != nil {
		return err
	}
	for _, n := range split(*dirRoles) {
		if _, ok := auth.DirectoryRoleID(n); !ok { // a name or a template id
			return unknown("--directory-roles", "directory role", n, auth.DirectoryRoleNames())
		}
	}
	iss, err := loadIssuer(*data, *initKey)
	if err != nil {
		return err
	}
	if *storeURL != "" {
		if err := checkClusterKeys(ctx, *storeURL, *data, iss); err != nil {
			return fmt.Errorf("token: %w", err)
		}
	}
	var tok string
	if *app != "" {
		tok, err = iss.MintApp(*app, split(*roles), *ttl)
	} else {
		tok, err = iss.MintUser(*user, split(*scopes), split(*dirRoles), *ttl)
	}
	if err != nil {
		return err
	}
	if *web {
		box, err := secrets.LoadOrCreate(*data)
		if err != nil {
			return err
		}
		code, err := portal.NewSignInCode(box, tok, time.Now())
		if err != nil {
			return err
		}
		tok = portal.SignInLink(*publicURL, code)
	}
	_, err = fmt.Fprintln(out, tok)
	return err
}

// checkClusterKeys makes sure the keys in dataDir are those of the nodes
// on the store at storeURL, so that they accept the token.
func checkClusterKeys(ctx context.Context, storeURL, dataDir string, iss *auth.Issuer) error {
	if _, err := os.Stat(filepath.Join(dataDir, secrets.KeyFile)); err != nil {
		return fmt.Errorf("%s has no %s: copy the data directory of a node of the cluster", dataDir, secrets.KeyFile)
	}
	box, err := secrets.LoadOrCreate(dataDir)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, storeURL, dataDir, "token", slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer st.Close()
	return wiring.ClaimKeys(ctx, st, dataDir, iss, box)
}

// loadIssuer loads the issuer in dir, creating it only when create is set.
func loadIssuer(dir string, create bool) (*auth.Issuer, error) {
	if create {
		return auth.LoadOrCreateIssuer(dir)
	}
	iss, err := auth.LoadIssuer(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("token: %s is not the data directory of a provisiond server (%v): give --data the directory of the server that is to accept the token, or add --init to create a new signing key there", dir, err)
	}
	return iss, err
}

// known refuses names not in valid (compared ignoring case, as Authorize
// does).
func known(flagName, what string, names, valid []string) error {
	for _, n := range names {
		if !slices.ContainsFunc(valid, func(v string) bool { return strings.EqualFold(v, n) }) {
			return unknown(flagName, what, n, valid)
		}
	}
	return nil
}

// unknown is the error for a name provisiond does not know, listing the
// valid ones.
func unknown(flagName, what, name string, valid []string) error {
	return fmt.Errorf("token: %s: unknown %s %q; valid ones are: %s", flagName, what, name, strings.Join(valid, ", "))
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
