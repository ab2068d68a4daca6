# Sourced by scripts/test.sh: installs Samba, starts a throwaway Active
# Directory domain controller on 127.0.0.2:389/636 (Samba's LDAP ports are
# fixed, hence its own loopback address), exports where it is for the tests
# (PROVISIOND_SAMBA_*), and stops it when the caller exits. Provisioning
# takes seconds, so a provisioned domain is kept under /var/tmp as a
# template and copied for each run. Tests seed their own OUs.

samba_root=/var/tmp/provisiond-samba
samba_dir=$samba_root/run # the path the template was provisioned at
samba_pass='Passw0rd!Passw0rd'
if ! command -v samba >/dev/null 2>&1 || ! command -v samba-tool >/dev/null 2>&1; then
  printf '== installing Samba (AD DC)\n'
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq samba samba-ad-dc winbind krb5-user smbclient >/dev/null
  # Where no policy-rc.d holds them back, the packages start system daemons;
  # the test DC runs on its own.
  for s in samba-ad-dc smbd nmbd winbind; do $sudo invoke-rc.d "$s" stop >/dev/null 2>&1 || true; done
fi
if [ -f "$samba_dir/samba.pid" ]; then kill "$(cat "$samba_dir/samba.pid")" 2>/dev/null || true; sleep 1; fi
if [ ! -f "$samba_root/template/etc/smb.conf" ]; then
  printf '== provisioning a Samba domain (once; kept in %s)\n' "$samba_root/template"
  rm -rf "$samba_dir" "$samba_root/template"
  mkdir -p "$samba_root"
  samba-tool domain provision --realm=TEST.EXAMPLE.COM --domain=TEST --server-role=dc --dns-backend=NONE \
    --use-rfc2307 --adminpass="$samba_pass" --host-name=dc1 --targetdir="$samba_dir" \
    --option="interfaces=127.0.0.2/8" --option="bind interfaces only=yes" \
    --option="server services=ldap" --option="netbios name=DC1" >"$samba_root/provision.log" 2>&1
  # Provision drops this option; simple binds on plain ldap:// need it.
  sed -i "/^\[global\]/a\\
	ldap server require strong auth = no\\
	log file = $samba_dir/log/log.%m\\
	pid directory = $samba_dir/run\\
	ncalrpc dir = $samba_dir/ncalrpc\\
	winbindd socket directory = $samba_dir/run/winbindd" "$samba_dir/etc/smb.conf"
  mv "$samba_dir" "$samba_root/template"
fi
rm -rf "$samba_dir"
cp -a "$samba_root/template" "$samba_dir"
mkdir -p "$samba_dir/run" "$samba_dir/ncalrpc" "$samba_dir/log" "$samba_dir/tls"
# A CA and a certificate for 127.0.0.2: the one Samba makes itself has a
# negative serial number, which Go's TLS refuses.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=provisiond-samba-test-ca \
  -keyout "$samba_dir/tls/ca.key" -out "$samba_dir/tls/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=dc1.test.example.com -keyout "$samba_dir/tls/key.pem" \
  -out "$samba_dir/tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.2,DNS:dc1.test.example.com\n' >"$samba_dir/tls/san.ext"
openssl x509 -req -in "$samba_dir/tls/server.csr" -CA "$samba_dir/tls/ca.pem" -CAkey "$samba_dir/tls/ca.key" \
  -CAcreateserial -days 2 -extfile "$samba_dir/tls/san.ext" -out "$samba_dir/tls/cert.pem" 2>/dev/null
chmod 600 "$samba_dir/tls/key.pem"
sed -i "/^\[global\]/a\\
	tls enabled = yes\\
	tls keyfile = $samba_dir/tls/key.pem\\
	tls certfile = $samba_dir/tls/cert.pem\\
	tls cafile = $samba_dir/tls/ca.pem" "$samba_dir/etc/smb.conf"
# One process: Samba tells notification searches of a write at once only
# when the same process made it (prefork workers poll every 5 s).
samba -M single -s "$samba_dir/etc/smb.conf" -F --debug-stdout >"$samba_dir/samba.out" 2>&1 &
echo $! >"$samba_dir/samba.pid"
samba_stop() {
  kill "$(cat "$samba_dir/samba.pid")" 2>/dev/null || true
}
trap "samba_stop; $(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT\$/\\1/")" EXIT
samba_up=
for _ in $(seq 100); do
  if ldapsearch -x -H ldap://127.0.0.2:389 -D Administrator@TEST.EXAMPLE.COM -w "$samba_pass" \
    -s base -b '' >/dev/null 2>&1; then samba_up=1; break; fi
  sleep 0.2
done
if [ -z "$samba_up" ]; then
  printf '== Samba did not start:\n'; tail -20 "$samba_dir/samba.out"; exit 1
fi

export PROVISIOND_SAMBA_URL=ldap://127.0.0.2:389
export PROVISIOND_SAMBA_LDAPS_URL=ldaps://127.0.0.2:636
export PROVISIOND_SAMBA_BIND=Administrator@TEST.EXAMPLE.COM
export PROVISIOND_SAMBA_PASSWORD="$samba_pass"
export PROVISIOND_SAMBA_BASE="DC=test,DC=example,DC=com"
export PROVISIOND_SAMBA_CA="$samba_dir/tls/ca.pem"
printf '== Samba AD DC on %s and %s\n' "$PROVISIOND_SAMBA_URL" "$PROVISIOND_SAMBA_LDAPS_URL"
