// Command provisiond is a self-hosted identity provisioning service that
// speaks the Microsoft Graph synchronization API.
//
//	provisiond serve [--addr 127.0.0.1:8080] [--data DIR] [--demo]
//	provisiond token [--data DIR] --app NAME --roles ROLE[,ROLE...]
//	provisiond token [--data DIR] --user UPN --scopes S[,S...] --directory-roles NAME[,NAME...]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "provisiond:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  provisiond serve [--addr 127.0.0.1:8080] [--data ./provisiond-data] [--demo] [--ondemand-limit 5/10s]
                   [--oidc-issuer URL --audience AUD] [--log-level info]
  provisiond token [--data ./provisiond-data] --app NAME --roles ROLE[,ROLE...] [--ttl 1h]
  provisiond token [--data ./provisiond-data] --user UPN --scopes SCOPE[,SCOPE...]
                   [--directory-roles "Application Administrator"[,...]] [--ttl 1h]`

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("no command\n%s", usage)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], os.Stdout)
	case "token":
		return token(args[1:], os.Stdout)
	case "help", "-h", "--help":
		fmt.Println(usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}
