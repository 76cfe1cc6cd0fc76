# shellcheck shell=bash
# Shared by tests/run and deploy/local/demo (sourced, not run): install what the local stack needs
# and start its services (a private Postgres, moto, the dev OpenID provider, the stand-in for the
# AWS federation endpoint).
#
# Services are started as children of the calling shell and their PIDs are left in variables
# (MOTO_PID, IDP_PID, FEDERATION_PID; Postgres is driven by pg_ctl and its data directory), so the caller decides
# whether they die with it (tests/run's trap) or outlive it (the demo's pid files).
# Every wait is bounded; failures print the tail of the service's log.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO_ROOT/.venv"
IDP_DIR="$REPO_ROOT/tests/idp"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, else through sudo when there is one.
as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null; then sudo -n "$@"
    else return 1
    fi
}

apt_install() {
    log "installing $* (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have empty package lists: update once and retry.
    as_root apt-get install -y -q --no-install-recommends "$@" >/dev/null \
        || { as_root apt-get update -q >/dev/null && as_root apt-get install -y -q --no-install-recommends "$@" >/dev/null; } \
        || die "could not install $* (run as root, or install them yourself)"
}

# Directory holding initdb/pg_ctl (Debian keeps them off PATH), highest version first.
pg_bin_dir() {
    local d
    for d in $(printf "%s\n" /usr/lib/postgresql/*/bin | sort -rV) "$(pg_config --bindir 2>/dev/null)"; do
        [[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return 0; }
    done
    d="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")"
    [[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return 0; }
    return 1
}

sha_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# Postgres, Python venv with moto + AWS CLI, Node modules of the dev IdP. Each step is skipped
# when already done (stamp files hold the hash of the file the step was done from).
install_prereqs() {
    command -v cargo >/dev/null || die "cargo not found: install Rust (rustup)"
    command -v python3 >/dev/null || apt_install python3
    command -v curl >/dev/null || apt_install curl ca-certificates
    command -v node >/dev/null || die "node not found: install Node.js 20.18 or later"
    # oidc-provider 9 needs URL.parse (Node >= 20.18); Debian 12's own nodejs (18) is too old.
    node -e 'process.exit(typeof URL.parse === "function" ? 0 : 1)' \
        || die "node $(node --version) is too old for tests/idp: install Node.js 20.18 or later"

    if ! pg_bin_dir >/dev/null; then apt_install postgresql; fi
    PG_BIN="$(pg_bin_dir)" || die "PostgreSQL binaries (initdb, pg_ctl) not found"

    local want have
    want="$(sha_of "$REPO_ROOT/tests/requirements.txt")"
    have="$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)"
    if [[ $want != "$have" ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
        log "setting up .venv (moto, AWS CLI); first time takes a minute"
        "$VENV/bin/python" -c '' 2>/dev/null || rm -rf "$VENV"
        if [[ ! -d $VENV ]] && ! python3 -m venv "$VENV" >/dev/null 2>&1; then
            rm -rf "$VENV"   # Debian ships venv's pip bootstrap separately
            apt_install python3-venv
            python3 -m venv "$VENV" || die "python3 -m venv failed"
        fi
        "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REPO_ROOT/tests/requirements.txt" \
            || die "pip install -r tests/requirements.txt failed"
        echo "$want" >"$VENV/.requirements.sha256"
    fi

    want="$(sha_of "$IDP_DIR/package.json" "$IDP_DIR/package-lock.json")"
    have="$(cat "$IDP_DIR/node_modules/.lock.sha256" 2>/dev/null || true)"
    if [[ $want != "$have" ]]; then
        log "installing the dev IdP's node modules (npm ci)"
        (cd "$IDP_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in tests/idp failed"
        echo "$want" >"$IDP_DIR/node_modules/.lock.sha256"
    fi
}

# Commands the services run under: the demo sets DETACH=(setsid) so they leave the terminal's
# session and outlive it; tests/run leaves it empty so they stay its children.
DETACH=()

# A TCP port nobody listens on now (the kernel's pick), or whether PORT is free.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_free() { python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }
# PORT if free, else any free one (the demo prefers stable ports but must not fail on a busy one).
port_or_free() { if port_free "$1"; then echo "$1"; else free_port; fi; }

# wait_for_url URL [SECONDS] [PID] [LOG]: poll until URL answers 2xx; give up early if PID died.
wait_for_url() {
    local url=$1 secs=${2:-30} pid=${3:-} logf=${4:-} i
    for ((i = 0; i < secs * 10; i++)); do
        curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
        if [[ -n $pid ]] && ! pid_alive "$pid"; then break; fi
        sleep 0.1
    done
    log "not ready after ${secs}s: $url"
    [[ -n $logf && -f $logf ]] && tail -n 20 "$logf" >&2
    return 1
}

# True while PID runs (a zombie waiting to be reaped counts as gone).
pid_alive() {
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ -n $state && $state != Z ]]
}

# stop_pid PID [NAME]: SIGTERM, wait up to 10 s, then SIGKILL. Only ever a PID we started.
stop_pid() {
    local pid=$1 i
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do pid_alive "$pid" || return 0; sleep 0.1; done
    log "${2:-$pid} did not stop in 10 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

# Postgres refuses to run as root: as root, its files belong to `postgres` and its tools run as
# that user. PG_AS is the command prefix for that ("" when we are not root).
PG_AS=()
if [[ $(id -u) -eq 0 ]]; then PG_AS=(runuser -u postgres --); fi

# pg_dir_usable DIR: can the Postgres user create files in DIR? (Needs every parent traversable.)
pg_dir_usable() { mkdir -p "$1" && { [[ ${#PG_AS[@]} -eq 0 ]] || chown postgres: "$1"; } && "${PG_AS[@]}" test -w "$1" -a -x "$1"; }

# start_postgres DIR PORT: a private cluster in DIR (created when missing), trust auth on
# 127.0.0.1 only, no Unix socket, tuned for tests (fsync off), with superuser role vault/vault.
# DIR must be usable by the Postgres user (see pg_dir_usable). Sets PG_DATA and PG_PORT.
start_postgres() {
    PG_DATA="$1/data" PG_PORT=$2
    : "${PG_BIN:=$(pg_bin_dir)}"
    pg_dir_usable "$1" || die "the postgres user cannot write to $1 (is a parent directory private?)"
    if [[ ! -s $PG_DATA/PG_VERSION ]]; then
        [[ ${#PG_AS[@]} -eq 0 ]] || id postgres >/dev/null 2>&1 || die "no postgres user to run Postgres as"
        "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --no-sync \
            --encoding=UTF8 --no-locale >"$1/initdb.log" 2>&1 \
            || { tail -n 20 "$1/initdb.log" >&2; die "initdb failed"; }
        # Speed over durability (throwaway data); many connections for parallel tests.
        "${PG_AS[@]}" tee -a "$PG_DATA/postgresql.conf" >/dev/null <<'EOF'
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_buffers = 64MB
EOF
    fi
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$1/postgres.log" -w -t 60 -o "-p $PG_PORT" >/dev/null \
        || { tail -n 20 "$1/postgres.log" >&2; die "Postgres did not start (port $PG_PORT)"; }
    local i
    for ((i = 0; i < 100; i++)); do
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres && break
        sleep 0.1
    done
    # Idempotent: the demo restarts an existing cluster that already has the role.
    "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'EOF' \
        || die "could not create the vault role"
SELECT 'CREATE ROLE vault' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vault') \gexec
ALTER ROLE vault WITH SUPERUSER LOGIN PASSWORD 'vault';
EOF
}

# stop_postgres DATA_DIR: fast shutdown (disconnects clients), when running.
stop_postgres() {
    : "${PG_BIN:=$(pg_bin_dir)}"
    [[ -f $1/postmaster.pid ]] || return 0
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" stop -D "$1" -m fast -w -t 30 >/dev/null 2>&1 || true
}

# start_moto PORT LOG: moto in the background (0 = any free port). Sets MOTO_PID and MOTO_URL.
start_moto() {
    local port=$1 logf=$2 i
    "${DETACH[@]}" "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$logf" 2>&1 </dev/null &
    MOTO_PID=$!
    # The port is read back from moto's own banner, so port 0 works without a race.
    # (The log may not exist yet in the first rounds: the child creates it.)
    for ((i = 0; i < 300; i++)); do
        port="$(sed -n 's|.*Running on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$logf" 2>/dev/null | head -n1 || true)"
        [[ -n $port ]] && break
        pid_alive "$MOTO_PID" || break
        sleep 0.1
    done
    [[ -n $port && $port != 0 ]] || { tail -n 20 "$logf" >&2; die "moto did not start"; }
    MOTO_URL="http://127.0.0.1:$port"
    wait_for_url "$MOTO_URL/moto-api/" 30 "$MOTO_PID" "$logf" || die "moto did not start"
}

# announced OUT PREFIX PID: the value of the first `PREFIX=value` line a service prints to OUT
# (bounded: 30 s, or until PID dies); empty when none came.
announced() {
    local value= i
    for ((i = 0; i < 300; i++)); do
        value="$(sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n1 || true)"
        [[ -n $value ]] && break
        pid_alive "$3" || break
        sleep 0.1
    done
    echo "$value"
}

# start_idp PORT LOG [CLIENT_ID CLIENT_SECRET]: the dev OpenID provider in the background
# (0 = any free port). Sets IDP_PID and IDP_ISSUER (read from its `ISSUER=` line).
start_idp() {
    local port=$1 logf=$2 out="$2.stdout"
    "${DETACH[@]}" node "$IDP_DIR/server.js" --port "$port" --client-id "${3:-team-vault}" --client-secret "${4:-dev-secret}" \
        >"$out" 2>"$logf" </dev/null &
    IDP_PID=$!
    IDP_ISSUER="$(announced "$out" ISSUER "$IDP_PID")"
    [[ -n $IDP_ISSUER ]] || { tail -n 20 "$logf" >&2; die "the dev IdP did not start"; }
    wait_for_url "$IDP_ISSUER/.well-known/openid-configuration" 30 "$IDP_PID" "$logf" || die "the dev IdP did not start"
}

# start_federation PORT LOG MOTO_URL: the stand-in for the AWS federation endpoint (console sign-in)
# in the background (0 = any free port), checking sessions against moto. Sets FEDERATION_PID and
# FEDERATION_URL (read from its `FEDERATION_URL=` line).
start_federation() {
    local port=$1 logf=$2 out="$2.stdout"
    "${DETACH[@]}" python3 "$REPO_ROOT/deploy/local/federation_standin.py" --port "$port" --moto "$3" \
        >"$out" 2>"$logf" </dev/null &
    FEDERATION_PID=$!
    FEDERATION_URL="$(announced "$out" FEDERATION_URL "$FEDERATION_PID")"
    [[ -n $FEDERATION_URL ]] || { tail -n 20 "$logf" >&2; die "the federation stand-in did not start"; }
    wait_for_url "${FEDERATION_URL%/federation}/healthz" 30 "$FEDERATION_PID" "$logf" \
        || die "the federation stand-in did not start"
}
