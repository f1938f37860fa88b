#!/usr/bin/env bash
# System packages for the central-database tests: unixODBC, the PostgreSQL and SQLite ODBC
# drivers, and a running local PostgreSQL (127.0.0.1:5432, trust auth, database `test`).
# Idempotent: installs only what is missing, starts PostgreSQL only if it is down.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

missing=()
for pkg in unixodbc odbc-postgresql libsqliteodbc postgresql; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "system-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The drivers register themselves in /etc/odbcinst.ini; check that they did.
for drv in "PostgreSQL Unicode" "SQLite3"; do
  if ! odbcinst -q -d -n "$drv" >/dev/null 2>&1; then
    echo "system-deps: ODBC driver '$drv' is not registered" >&2
    exit 1
  fi
done

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version="$(ls /etc/postgresql | sort -V | tail -n1)"
  echo "system-deps: starting PostgreSQL $version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432
fi

# The tests' database: `test`, owned by postgres (trust auth on 127.0.0.1 is the machine's setup).
if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null
fi
echo "system-deps: ok (unixODBC, PostgreSQL Unicode, SQLite3 drivers; PostgreSQL on 127.0.0.1:5432)"
