// Command provisiond is a self-hosted identity provisioning service that
// speaks the Microsoft Graph synchronization API.
//
//	provisiond serve [--addr 127.0.0.1:8080] [--data DIR] [--demo] [--public-url URL] [--target-networks CIDRS]
//	provisiond token [--data DIR] [--init] --app NAME --roles ROLE[,ROLE...]
//	provisiond token [--data DIR] [--init] --user UPN --scopes S[,S...] --directory-roles NAME[,NAME...]
//
// Every command takes --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "provisiond:", err)
		os.Exit(1)
	}
}

// synopses are the usage lines of each command, for --help.
var synopses = map[string]string{
	"serve": `provisiond serve [--addr 127.0.0.1:8080] [--data ./provisiond-data] [--store postgres://...] [--node-name NAME]
                   [--demo] [--ondemand-limit 5/10s]
                   [--oidc-issuer URL --audience AUD] [--public-url URL] [--trust-proxy]
                   [--target-networks CIDR[,CIDR...]] [--log-level info]`,
	"token": `provisiond token [--data ./provisiond-data] [--store postgres://...] [--init] --app NAME --roles ROLE[,ROLE...] [--ttl 1h]
  provisiond token [--data ./provisiond-data] [--init] --user UPN --scopes SCOPE[,SCOPE...]
                   [--directory-roles "Application Administrator"[,...]] [--ttl 1h]`,
}

var usage = "usage:\n  " + synopses["serve"] + "\n  " + synopses["token"] + "\n  provisiond help [COMMAND]"

// run runs the command in args, writing its output to out. Asking for help
// (help, -h, --help, at the top or after a command) succeeds.
func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no command\n%s", usage)
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], out)
	case "token":
		err = token(ctx, args[1:], out)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, out)
		}
		_, err = fmt.Fprintln(out, usage)
		return err
	default:
		return fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// parseFlags parses the flags of the command fs names. For -h or --help it
// writes the command's usage and flags to out and returns flag.ErrHelp,
// which run counts as success; other mistakes, and arguments that are not
// flags, are errors pointing to --help.
func parseFlags(fs *flag.FlagSet, args []string, out io.Writer) error {
	fs.SetOutput(io.Discard) // the flag package's own messages would go to stderr twice
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(out, "usage:\n  %s\n\nflags:\n", synopses[fs.Name()])
		fs.SetOutput(out)
		fs.PrintDefaults()
		return flag.ErrHelp
	case err != nil:
		return fmt.Errorf("%s: %w (see provisiond %s --help)", fs.Name(), err, fs.Name())
	case fs.NArg() > 0:
		return fmt.Errorf("%s: unexpected argument %q; values go after flags, e.g. --data DIR (see provisiond %s --help)",
			fs.Name(), strings.Join(fs.Args(), " "), fs.Name())
	}
	return nil
}
