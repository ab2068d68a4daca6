package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"provisiond/auth"
)

// token mints a bearer token that a server using the same data directory
// accepts, and prints only the token.
func token(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	data := fs.String("data", "./provisiond-data", "data directory (holds the signing key)")
	app := fs.String("app", "", "application name: mint an application token")
	roles := fs.String("roles", "", "application permissions, comma-separated (e.g. Synchronization.ReadWrite.All)")
	user := fs.String("user", "", "user principal name: mint a delegated token")
	scopes := fs.String("scopes", "", "delegated permissions, comma-separated")
	dirRoles := fs.String("directory-roles", "", `directory roles, comma-separated (e.g. "Application Administrator")`)
	ttl := fs.Duration("ttl", time.Hour, "token lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*app == "") == (*user == "") {
		return errors.New("token: give exactly one of --app NAME or --user UPN")
	}
	iss, err := auth.LoadOrCreateIssuer(*data)
	if err != nil {
		return err
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
	_, err = fmt.Fprintln(out, tok)
	return err
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
