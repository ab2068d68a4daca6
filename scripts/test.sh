#!/usr/bin/env bash
# Runs provisiond's whole test suite. It first installs and prepares the real
# components the tests use (Node.js packages for the SCIMMY SCIM server; slapd
# and a Samba AD DC, started by scripts/components/), then requires them: a
# test that needs a component fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*"; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "installing Node.js (for the SCIMMY test server)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
fi
log "installing SCIMMY (npm ci)"
npm ci --prefix scripts/scimmy --no-audit --no-fund --loglevel=error >/dev/null
scripts/components/chromium.sh

export PROVISIOND_COMPONENTS=required

log "go vet"
go vet ./...

log "go test"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
log "starting PostgreSQL (a throwaway cluster on loopback)"
eval "$(scripts/components/postgres.sh start)"; trap 'rm -f "$out"; scripts/components/postgres.sh stop "$PROVISIOND_TEST_POSTGRES_DIR"' EXIT
# Components started below chain their stop onto this trap.
. scripts/components/slapd.sh # OpenLDAP for the LDAP source (PROVISIOND_SLAPD_*)
. scripts/components/samba.sh # a Samba AD DC for the Active Directory source (PROVISIOND_SAMBA_*)
set +e
go test -count=1 "$@" ./... 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
# The Graph SDK compatibility check is a module of its own: the SDK takes
# minutes to build, so ordinary `go test ./...` does not pay for it.
log "Microsoft Graph Go SDK compatibility (compat/msgraph; a cold build takes a few minutes)"
(cd compat/msgraph && go test -count=1 "$@" ./...) 2>&1 | tee -a "$out"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
set -e
passed=$(grep -c '^ok ' "$out" || true)
failed=$(grep -cE '^(FAIL|--- FAIL)' "$out" || true)
echo "$passed passed, $failed failed"
exit "$status"
