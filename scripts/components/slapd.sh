# Sourced by scripts/test.sh: installs OpenLDAP's slapd, starts a throwaway
# server on 127.0.0.1:3890 (ldap:// with StartTLS; mdb with syncprov,
# memberof and a session log, so syncrepl reports deletes), exports where it
# is for the tests (PROVISIOND_SLAPD_*), and stops it when the caller exits.
# Tests seed their own entries under unique OUs of the suffix.

slapd_port=3890
if ! command -v slapd >/dev/null 2>&1 || ! command -v ldapsearch >/dev/null 2>&1; then
  printf '== installing slapd and ldap-utils\n'
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq slapd ldap-utils >/dev/null
  # Where no policy-rc.d holds it back, the package starts a system slapd on
  # *:389, which would take the port the Samba DC needs on 127.0.0.2.
  $sudo invoke-rc.d slapd stop >/dev/null 2>&1 || true
fi

slapd_dir=$(mktemp -d /tmp/provisiond-slapd.XXXXXX)
mkdir -p "$slapd_dir/data"
# A CA and a server certificate for StartTLS (valid one day, for this run).
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=provisiond-test-ca \
  -keyout "$slapd_dir/ca.key" -out "$slapd_dir/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$slapd_dir/server.key" \
  -out "$slapd_dir/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$slapd_dir/san.ext"
openssl x509 -req -in "$slapd_dir/server.csr" -CA "$slapd_dir/ca.pem" -CAkey "$slapd_dir/ca.key" \
  -CAcreateserial -days 1 -extfile "$slapd_dir/san.ext" -out "$slapd_dir/server.pem" 2>/dev/null

cat >"$slapd_dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload syncprov
moduleload memberof
pidfile $slapd_dir/slapd.pid
argsfile $slapd_dir/slapd.args
TLSCACertificateFile $slapd_dir/ca.pem
TLSCertificateFile $slapd_dir/server.pem
TLSCertificateKeyFile $slapd_dir/server.key
sizelimit unlimited
database mdb
maxsize 1073741824
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw secret
directory $slapd_dir/data
index objectClass eq
index uid,cn,mail eq,sub
index entryCSN,entryUUID eq
overlay memberof
overlay syncprov
syncprov-checkpoint 100 10
syncprov-sessionlog 100000
CONF
slaptest -Q -f "$slapd_dir/slapd.conf" -u
if ! slapd -f "$slapd_dir/slapd.conf" -h "ldap://127.0.0.1:$slapd_port/"; then
  printf '== slapd did not start (is 127.0.0.1:%s taken?)\n' "$slapd_port"; exit 1
fi
slapd_stop() {
  if [ -f "$slapd_dir/slapd.pid" ]; then kill "$(cat "$slapd_dir/slapd.pid")" 2>/dev/null || true; fi
  sleep 0.5
  rm -rf "$slapd_dir"
}
# Chain onto whatever the caller traps already.
trap "slapd_stop; $(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT\$/\\1/")" EXIT
for _ in $(seq 50); do
  ldapsearch -x -H "ldap://127.0.0.1:$slapd_port" -s base -b '' >/dev/null 2>&1 && break
  sleep 0.1
done
ldapadd -x -H "ldap://127.0.0.1:$slapd_port" -D cn=admin,dc=example,dc=com -w secret >/dev/null <<LDIF
dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
dc: example
o: provisiond tests
LDIF

export PROVISIOND_SLAPD_URL="ldap://127.0.0.1:$slapd_port"
export PROVISIOND_SLAPD_BIND_DN="cn=admin,dc=example,dc=com"
export PROVISIOND_SLAPD_PASSWORD=secret
export PROVISIOND_SLAPD_BASE="dc=example,dc=com"
export PROVISIOND_SLAPD_CA="$slapd_dir/ca.pem"
printf '== slapd on %s (StartTLS, CA %s)\n' "$PROVISIOND_SLAPD_URL" "$PROVISIOND_SLAPD_CA"
