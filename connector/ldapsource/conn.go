package ldapsource

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"provisiond/connector"
	"provisiond/netguard"
)

// Provisioning-log codes of the source's failures.
const (
	CodeConnect     = "LdapServerUnreachable"
	CodeTLS         = "LdapTlsFailure"
	CodeBind        = "LdapCredentialValidationFailure"
	CodeBaseDN      = "LdapInvalidContainer"
	CodeNotFound    = "LdapEntryNotFound"
	CodeProtocol    = "LdapOperationFailed"
	CodeStaleCookie = "LdapSyncCookieRejected"
)

// dial connects, secures and binds one connection, within ctx. The error
// says which of the three failed.
func (s *Source) dial(ctx context.Context) (*ldap.Conn, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	d := &net.Dialer{Control: s.cfg.Control}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	conn, err := ldap.DialURL(s.cfg.URL, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(s.cfg.tls))
	if err != nil {
		if re := (*netguard.RefusedError)(nil); errors.As(err, &re) {
			return nil, &connector.Error{Kind: connector.KindInvalid, Code: CodeConnect,
				Message: fmt.Sprintf("cannot connect to %s: %s", s.cfg.u.Host, re.Of("the LDAP server's address")), Err: err}
		}
		if isTLSError(err) {
			return nil, &connector.Error{Kind: connector.KindTransient, Code: CodeTLS,
				Message: fmt.Sprintf("TLS with %s failed (check the CA certificate): %v", s.cfg.u.Host, err), Err: err}
		}
		if s.cfg.u.Scheme == "ldaps" && (errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "connection reset")) {
			// A server speaking plain LDAP hangs up on a TLS handshake.
			return nil, &connector.Error{Kind: connector.KindTransient, Code: CodeTLS,
				Message: fmt.Sprintf("TLS with %s failed: the server closed the connection during the handshake; if it serves plain LDAP there, use ldap:// (with StartTLS): %v", s.cfg.u.Host, err), Err: err}
		}
		return nil, &connector.Error{Kind: connector.KindTransient, Code: CodeConnect,
			Message: fmt.Sprintf("cannot connect to %s: %v", s.cfg.u.Host, err), Err: err}
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetTimeout(remaining(ctx))
	if s.cfg.startTLS {
		if err := conn.StartTLS(s.cfg.tls); err != nil {
			conn.Close()
			if ctx.Err() != nil || strings.Contains(err.Error(), "timed out") {
				// Not a TLS problem: the server did not answer.
				return nil, s.kinded(context.Background(), context.DeadlineExceeded, "StartTLS")
			}
			return nil, &connector.Error{Kind: connector.KindTransient, Code: CodeTLS,
				Message: fmt.Sprintf("StartTLS with %s failed (check the CA certificate, or use ldaps://): %v", s.cfg.u.Host, err), Err: err}
		}
	}
	if err := conn.Bind(s.cfg.BindDN, s.cfg.Password); err != nil {
		conn.Close()
		if ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInappropriateAuthentication,
			ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultInvalidDNSyntax, ldap.LDAPResultNoSuchObject) {
			return nil, &connector.Error{Kind: connector.KindUnauthorized, Code: CodeBind,
				Message: fmt.Sprintf("%s refused the bind as %q: check the user name and password", s.cfg.u.Host, s.cfg.BindDN), Err: err}
		}
		if ldap.IsErrorAnyOf(err, ldap.LDAPResultStrongAuthRequired, ldap.LDAPResultConfidentialityRequired) {
			return nil, &connector.Error{Kind: connector.KindInvalid, Code: CodeTLS,
				Message: fmt.Sprintf("%s requires an encrypted connection for the bind: use ldaps:// or StartTLS", s.cfg.u.Host), Err: err}
		}
		return nil, s.kinded(ctx, err, "bind")
	}
	return conn, nil
}

func isTLSError(err error) bool {
	var (
		rec  tls.RecordHeaderError
		cert *tls.CertificateVerificationError
	)
	return errors.As(err, &rec) || errors.As(err, &cert) || strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:")
}

// bound returns ctx limited by the configured timeout.
func (s *Source) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.Timeout)
}

// remaining is the time left before ctx's deadline (at least 1 ms).
func remaining(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return defaultTimeout
	}
	return max(time.Until(dl), time.Millisecond)
}

// with runs op on a pooled connection, bounded by ctx and the timeout: a
// call still running when ctx ends has its connection closed. A connection
// that breaks is dropped, and op is tried once more on a fresh one when the
// broken one came from the pool (the server may have closed it while idle).
func (s *Source) with(ctx context.Context, op func(ctx context.Context, c *ldap.Conn) error) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	for attempt := 0; ; attempt++ {
		c, pooled, err := s.get(ctx)
		if err != nil {
			return err
		}
		c.SetTimeout(remaining(ctx))
		stop := context.AfterFunc(ctx, func() { c.Close() })
		err = brokenConn(c, op(ctx, c))
		closed := !stop()
		if closed || c.IsClosing() || isNetwork(err) {
			c.Close()
			if pooled && attempt == 0 && ctx.Err() == nil && isNetwork(err) {
				continue
			}
		} else {
			s.put(c)
		}
		if err != nil {
			return s.kinded(ctx, err, "")
		}
		return nil
	}
}

// idleTimeout is how long an unused connection stays open: a source
// dropped without Close (a replaced job configuration, validateCredentials)
// holds none for longer, and none outlives a server's or firewall's own
// idle limit unnoticed.
const idleTimeout = time.Minute

// idleConn is a pooled connection and when it was last used.
type idleConn struct {
	c     *ldap.Conn
	since time.Time
}

func (s *Source) get(ctx context.Context) (*ldap.Conn, bool, error) {
	s.mu.Lock()
	for len(s.idle) > 0 {
		ic := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if !ic.c.IsClosing() && time.Since(ic.since) < idleTimeout {
			s.mu.Unlock()
			return ic.c, true, nil
		}
		ic.c.Close()
	}
	s.mu.Unlock()
	c, err := s.dial(ctx)
	return c, false, err
}

func (s *Source) put(c *ldap.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.idle) >= s.cfg.PoolSize {
		c.Close()
		return
	}
	s.idle = append(s.idle, idleConn{c: c, since: time.Now()})
	s.sweepLater()
}

// sweepLater makes sure a sweep is due; s.mu is held.
func (s *Source) sweepLater() {
	if s.sweeper == nil {
		s.sweeper = time.AfterFunc(idleTimeout, s.sweep)
	}
}

// sweep closes the connections idle for idleTimeout and the listings left
// unfinished, and runs again while any connection is left.
func (s *Source) sweep() {
	listings := s.lists.expire()
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.idle[:0]
	for _, ic := range s.idle {
		if time.Since(ic.since) >= idleTimeout {
			ic.c.Close()
		} else {
			kept = append(kept, ic)
		}
	}
	s.idle = kept
	if len(s.idle) > 0 || listings > 0 {
		s.sweeper.Reset(idleTimeout)
	} else {
		s.sweeper = nil
	}
}

// Close closes the idle connections and unfinished listings; the source
// may still be used.
func (s *Source) Close() error {
	s.lists.mu.Lock()
	for t, ls := range s.lists.m {
		ls.conn.Close()
		delete(s.lists.m, t)
	}
	s.lists.mu.Unlock()
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, ic := range idle {
		ic.c.Close()
	}
	return nil
}

// brokenConn marks err as a network error when c broke under it: go-ldap
// hands requests in flight on a connection the peer closed a plain error
// ("unable to read LDAP response packet: EOF").
func brokenConn(c *ldap.Conn, err error) error {
	if err != nil && c.IsClosing() && !isNetwork(err) {
		return ldap.NewError(ldap.ErrorNetwork, err)
	}
	return err
}

func isNetwork(err error) bool {
	if err == nil {
		return false
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		return le.ResultCode == ldap.ErrorNetwork
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// kinded turns an LDAP failure into a connector error. what names the
// operation for the message.
func (s *Source) kinded(ctx context.Context, err error, what string) error {
	var ce *connector.Error
	if errors.As(err, &ce) {
		return err
	}
	if what == "" {
		what = "the request"
	}
	host := s.cfg.u.Host
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return &connector.Error{Kind: connector.KindTransient, Code: CodeConnect,
			Message: fmt.Sprintf("%s to %s did not finish in time", what, host), Err: err}
	case isNetwork(err), ldap.IsErrorAnyOf(err, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable,
		ldap.LDAPResultTimeLimitExceeded, ldap.LDAPResultAdminLimitExceeded, ldap.LDAPResultUnwillingToPerform,
		ldap.LDAPResultOther, ldap.ErrorNetwork, ldap.LDAPResultServerDown, ldap.LDAPResultTimeout):
		return &connector.Error{Kind: connector.KindTransient, Code: CodeConnect,
			Message: fmt.Sprintf("%s to %s failed: %v", what, host, err), Err: err}
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInsufficientAccessRights):
		return &connector.Error{Kind: connector.KindUnauthorized, Code: CodeBind,
			Message: fmt.Sprintf("%s refused %s: %v", host, what, err), Err: err}
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		// Lists are paged; the change feed's syncrepl search cannot be.
		return &connector.Error{Kind: connector.KindInvalid, Code: CodeProtocol, Err: err,
			Message: fmt.Sprintf("%s stopped at %s's size limit: allow %q to read every entry of the containers at once "+
				"(OpenLDAP: limits dn.exact=%q size=unlimited), since a sync search cannot be paged", what, host, s.cfg.BindDN, s.cfg.BindDN)}
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return &connector.Error{Kind: connector.KindNotFound, Code: CodeNotFound,
			Message: fmt.Sprintf("%s: no such entry on %s", what, host), Err: err}
	}
	return &connector.Error{Kind: connector.KindInvalid, Code: CodeProtocol,
		Message: fmt.Sprintf("%s to %s failed: %v", what, host, err), Err: err}
}
