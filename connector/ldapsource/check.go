package ldapsource

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"

	"provisiond/connector"
	"provisiond/netguard"
)

// Test checks what a job needs, in order, and says what failed: connect,
// TLS, bind (CodeConnect, CodeTLS, CodeBind from dialling), then that each
// base DN exists (CodeBaseDN, KindInvalid).
func (s *Source) Test(ctx context.Context) error {
	if _, err := s.Flavor(ctx); err != nil {
		return err
	}
	for _, base := range s.cfg.bases {
		err := s.with(ctx, func(ctx context.Context, c *ldap.Conn) error {
			_, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
				"(objectClass=*)", []string{"1.1"}, nil))
			return err
		})
		if errors.Is(err, netguard.ErrRefused) { // not dialled: nothing is known of the container
			return err
		}
		if connector.IsNotFound(err) || ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidDNSyntax) || connector.KindOf(err) == connector.KindInvalid {
			return &connector.Error{Kind: connector.KindInvalid, Code: CodeBaseDN,
				Message: fmt.Sprintf("the container %q does not exist on %s (or the account cannot read it)", base, s.cfg.u.Host), Err: err}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
