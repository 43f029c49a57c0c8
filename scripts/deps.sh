#!/usr/bin/env bash
# Installs what bronze-foundry needs, only when missing: the Debian -dev
# libraries it builds against (found through pkg-config), and with `test`
# also the tools the test suite drives (PostgreSQL, the ODBC driver, Node.js
# and the npm packages of package.json).
# Usage: scripts/deps.sh build|test
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(build-essential pkg-config libyaml-dev libsqlite3-dev libjansson-dev libyajl-dev
  libpq-dev unixodbc-dev libsnappy-dev zlib1g-dev libzstd-dev liblz4-dev libbrotli-dev
  libssl-dev libcurl4-openssl-dev libxxhash-dev sqlite3)
test_pkgs=(libcmocka-dev clang-format clang libclang-rt-14-dev odbc-postgresql unixodbc nodejs npm
  zstd python3 openssl
  slurm-wlm munge) # a single-node Slurm cluster for the scale-out tests (tests/integration/lib/slurm.mjs)
PG_LOCAL=/usr/local/lib/bronze-foundry-pg

want=("${build_pkgs[@]}")
pg_unpack=false
if [ "${1:-build}" = test ]; then
  want+=("${test_pkgs[@]}")
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ ! -x "$PG_LOCAL/usr/lib/postgresql/15/bin/initdb" ]; then
    if touch /etc/apt/.bronze-probe 2>/dev/null; then
      rm -f /etc/apt/.bronze-probe
      want+=(postgresql)
    else
      # apt's own config is read-only here (a chroot or container sharing the
      # host's apt setup): postgresql-common cannot configure itself, so the
      # server is unpacked instead (its libraries installed as usual).
      pg_unpack=true
      want+=($(apt-cache depends postgresql-15 postgresql-client-15 2>/dev/null |
        awk '/ Depends: [a-z]/ {print $2}' | grep -v -e postgresql -e ssl-cert -e locales -e debconf | sort -u))
    fi
  fi
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere than Debian (nodesource, nvm): accept any node >= 18 with npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  log=$(mktemp)
  apt_install() {
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1
  }
  $SUDO apt-get update -q >/dev/null
  # A package's post-install step can fail once on a fresh system (seen with
  # postgresql's first cluster): finish configuring and try again once.
  if ! apt_install; then
    tail -30 "$log" >&2
    echo "deps: apt-get install failed; configuring pending packages and retrying" >&2
    # ssl-cert's post-install writes a snakeoil certificate into /etc/ssl/certs;
    # where that folder is read-only (a container or chroot sharing the host's
    # trust store) it cannot, and postgresql depends on it. The test server
    # listens on loopback without TLS and never uses that certificate, so in
    # exactly that case the step is skipped.
    if grep -q "Read-only file system.*ssl-cert-snakeoil" "$log" &&
      ! touch /etc/ssl/certs/.bronze-probe 2>/dev/null; then
      echo "deps: /etc/ssl/certs is read-only: skipping ssl-cert's snakeoil certificate" >&2
      $SUDO sh -c 'printf "#!/bin/sh\nexit 0\n" > /var/lib/dpkg/info/ssl-cert.postinst'
    else
      rm -f /etc/ssl/certs/.bronze-probe 2>/dev/null || true
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO dpkg --configure -a >>"$log" 2>&1 || true
    apt_install || { tail -30 "$log" >&2; rm -f "$log"; exit 1; }
  fi
  rm -f "$log"
fi
if $pg_unpack; then
  echo "deps: unpacking postgresql-15 into $PG_LOCAL"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  tmp=$(mktemp -d); chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -q postgresql-15 postgresql-client-15 >/dev/null 2>&1)
  $SUDO mkdir -p "$PG_LOCAL"
  for d in "$tmp"/*.deb; do $SUDO dpkg-deb -x "$d" "$PG_LOCAL"; done
  rm -rf "$tmp"
  id postgres >/dev/null 2>&1 || $SUDO useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  [ -x "$PG_LOCAL/usr/lib/postgresql/15/bin/initdb" ] || { echo "deps: could not unpack postgresql-15" >&2; exit 1; }
fi
# every devDependency of package.json must be installed
npm_missing=false
if command -v node >/dev/null; then
  for m in $(node -p "Object.keys(require('./package.json').devDependencies).join(' ')"); do
    [ -d "node_modules/$m" ] || npm_missing=true
  done
else
  npm_missing=true
fi
if [ "${1:-build}" = test ] && $npm_missing; then
  echo "deps: npm ci"
  # The lock lists every platform's optional DuckDB binding and the
  # util-locate-window override, so npm 9 to 11 take it as it is; a refusal
  # here is a lock out of step with package.json, to fix, not to hide
  # (tests/integration/setup.test.mjs checks it).
  npm ci --no-audit --no-fund --loglevel=error
fi
