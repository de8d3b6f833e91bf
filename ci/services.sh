#!/usr/bin/env bash
# Local integration-test services for kbackup: a Kafka-API broker (tansu) and
# an S3 object store (garage), run as plain background processes on 127.0.0.1.
#
# Usage:
#   ci/services.sh install [NAME...]  # build/cache the pinned binaries, or only tansu / garage
#                                   # (cold: ~22 and ~17 min on 2 cores; instant when cached)
#   ci/services.sh installed      # rc 0 if both are cached; else lists what `install` would build
#   eval "$(ci/services.sh start)"  # fresh state, start both, print `export` lines on stdout
#   ci/services.sh env            # print the export lines of the running services
#   ci/services.sh status         # which services are running and answering (rc 1 if not both)
#   ci/services.sh stop           # stop both (ok if nothing runs)
#
# Only the `export` lines of `start` / `env` go to stdout; all progress and
# diagnostics go to stderr.
#
# Environment overrides (defaults in brackets):
#   KBACKUP_TOOLS_DIR          [$HOME/.cargo/kbackup-tools]  where pinned binaries live
#   KBACKUP_SERVICES_DIR       [/tmp/kbackup-services]       state dir, WIPED by `start`
#   KBACKUP_KAFKA_PORT         [19092]
#   KBACKUP_KAFKA_ADVERTISED_PORT [KBACKUP_KAFKA_PORT]  port tansu advertises to
#                                        clients (and KAFKA_BOOTSTRAP names): set it
#                                        to a proxy's port in front of tansu, so
#                                        clients reconnect through the proxy
#   KBACKUP_S3_PORT            [13900]
#   KBACKUP_GARAGE_RPC_PORT    [13901]
#   KBACKUP_GARAGE_ADMIN_PORT  [13903]
#   KBACKUP_S3_BUCKET          [kbackup-test]
#   KBACKUP_S3_REGION          [garage]
#   KBACKUP_TANSU_STORAGE      [memory]  tansu storage engine: memory (fast) or
#                                        sqlite (file in the state dir; slows down
#                                        badly past a few hundred MB). The memory
#                                        engine answers ListOffsets(latest) with
#                                        <base offset of last batch> + 1; kbackup
#                                        does not rely on it, and the tests keep
#                                        it that way by running against it.
#   KBACKUP_SERVICES_TIMEOUT   [60]   seconds to wait for each service to answer

set -euo pipefail

# ---------------------------------------------------------------- pinned tools
TANSU_VERSION="0.6.0"
TANSU_FEATURES="dynostore,libsql"
GARAGE_VERSION="2.5.0"
# Minutes a cold `cargo install` took on the project's 2-core development VM: for progress lines.
TANSU_BUILD_MINUTES=22
GARAGE_BUILD_MINUTES=17

TOOLS_DIR="${KBACKUP_TOOLS_DIR:-$HOME/.cargo/kbackup-tools}"
# cargo target dir of the installs, shared by both; removed once both are installed.
BUILD_DIR="$TOOLS_DIR/build"
TANSU_BIN="$TOOLS_DIR/tansu-$TANSU_VERSION/bin/tansu"
GARAGE_BIN="$TOOLS_DIR/garage-$GARAGE_VERSION/bin/garage"

# ---------------------------------------------------------------- settings
HOST="127.0.0.1" # loopback only, deliberately not configurable
STATE_DIR="${KBACKUP_SERVICES_DIR:-/tmp/kbackup-services}"
KAFKA_PORT="${KBACKUP_KAFKA_PORT:-19092}"
ADVERTISED_PORT="${KBACKUP_KAFKA_ADVERTISED_PORT:-$KAFKA_PORT}"
S3_PORT="${KBACKUP_S3_PORT:-13900}"
GARAGE_RPC_PORT="${KBACKUP_GARAGE_RPC_PORT:-13901}"
GARAGE_ADMIN_PORT="${KBACKUP_GARAGE_ADMIN_PORT:-13903}"
S3_BUCKET="${KBACKUP_S3_BUCKET:-kbackup-test}"
S3_REGION="${KBACKUP_S3_REGION:-garage}"
TIMEOUT="${KBACKUP_SERVICES_TIMEOUT:-60}"
TANSU_STORAGE="${KBACKUP_TANSU_STORAGE:-memory}"
KAFKA_CLUSTER_ID="kbackup"
GARAGE_KEY_NAME="kbackup-test"

MARKER=".kbackup-services"
GARAGE_CONF="$STATE_DIR/garage.toml"
GARAGE_DEADLINE=0 # set by setup_garage

# ---------------------------------------------------------------- helpers
log() { printf '[services] %s\n' "$*" >&2; }
die() {
    printf '[services] ERROR: %s\n' "$*" >&2
    exit 1
}

now() { date +%s; }
now_ms() { date +%s%3N; }
# elapsed_since MS: seconds since MS (from now_ms), e.g. "1.342"
elapsed_since() {
    local d=$(($(now_ms) - $1))
    printf '%d.%03d' $((d / 1000)) $((d % 1000))
}

# True if something accepts TCP connections on HOST:$1.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

pid_file() { printf '%s/%s.pid\n' "$STATE_DIR" "$1"; }

# Prints the pid recorded for service $1 if that process is alive and still
# is the service binary (guards against pid reuse); fails otherwise.
live_pid() {
    local name="$1" file pid cmdline
    file="$(pid_file "$name")"
    [[ -f "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *"$name"* ]] || return 1
    printf '%s\n' "$pid"
}

# True if the pid recorded for service $1 is alive (used right after launch,
# when the process may not have exec'd the service binary yet).
recorded_pid_alive() {
    local file pid
    file="$(pid_file "$1")"
    [[ -f "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

show_log() {
    local file="$STATE_DIR/$1.log"
    if [[ -f "$file" ]]; then
        printf -- '----- last lines of %s -----\n' "$file" >&2
        tail -n 40 "$file" >&2 || true
        printf -- '----- end of %s -----\n' "$file" >&2
    fi
}

# fail_start NAME MESSAGE: print the service log, stop what we started, exit 1.
fail_start() {
    local name="$1"
    shift
    printf '[services] ERROR: %s\n' "$*" >&2
    show_log "$name"
    # These pids were started by this very run: no pid-reuse check needed.
    STOP_FRESH_PIDS=1 stop_all >&2 || true
    exit 1
}

tool_version_ok() {
    # tool_version_ok BIN VERSION
    local out
    [[ -x "$1" ]] || return 1
    out="$("$1" --version 2>/dev/null)" || return 1
    [[ "$out" == *"$2"* ]]
}

need_bins() {
    tool_version_ok "$TANSU_BIN" "$TANSU_VERSION" ||
        die "tansu $TANSU_VERSION not found at $TANSU_BIN; run: ci/services.sh install"
    tool_version_ok "$GARAGE_BIN" "$GARAGE_VERSION" ||
        die "garage $GARAGE_VERSION not found at $GARAGE_BIN; run: ci/services.sh install"
}

# ---------------------------------------------------------------- install
install_one() {
    # install_one NAME VERSION BIN MINUTES [cargo features]
    local name="$1" version="$2" bin="$3" minutes="$4" features="${5:-}"
    local root="$TOOLS_DIR/$name-$version"
    local logfile="$TOOLS_DIR/$name-$version-install.log"
    if tool_version_ok "$bin" "$version"; then
        log "$name $version: cached ($bin)"
        return 0
    fi
    command -v cargo >/dev/null 2>&1 || die "cargo not found; a Rust toolchain is needed to build $name"
    mkdir -p "$TOOLS_DIR"
    # --force: we only get here if the binary is missing or broken. The crate's own release
    # profile and features are used as published: the broker's and the store's speed (which
    # the performance baselines measure) depends on them.
    local args=(install "$name" --locked --force --version "$version" --root "$root")
    [[ -n "$features" ]] && args+=(--features "$features")
    log "building $name $version (first run only, ~$minutes min on 2 cores); log: $logfile"
    log "$name $version: cargo ${args[*]}"
    local start
    start="$(now)"
    # One target dir for both tools: the crates they share (same version and features) are
    # compiled once. It does not change what is built, only where the intermediate files go.
    if ! CARGO_TARGET_DIR="$BUILD_DIR" cargo "${args[@]}" 2>&1 | progress "$name $version" "$start" >"$logfile"; then
        tail -n 40 "$logfile" >&2 || true
        die "$name $version: cargo install failed (full log: $logfile)"
    fi
    tool_version_ok "$bin" "$version" ||
        die "$name $version: installed, but '$bin --version' does not report $version"
    log "$name $version: installed in $(($(now) - start)) s"
}

# progress LABEL START: copies cargo's output from stdin to stdout and, every 2 minutes, says on
# stderr how long the build has run and how many crates it has compiled.
progress() {
    local label="$1" start="$2" line compiled=0 next=$(($2 + 120))
    while IFS= read -r line; do
        printf '%s\n' "$line"
        [[ "$line" == *" Compiling "* ]] && compiled=$((compiled + 1))
        if (($(now) >= next)); then
            log "$label: $((($(now) - start) / 60)) min so far, $compiled crates compiled"
            next=$((next + 120))
        fi
    done
}

# The tools `install` knows, as "name version bin minutes features" lines.
tools() {
    printf '%s\n' "tansu $TANSU_VERSION $TANSU_BIN $TANSU_BUILD_MINUTES $TANSU_FEATURES" \
        "garage $GARAGE_VERSION $GARAGE_BIN $GARAGE_BUILD_MINUTES"
}

cmd_install() {
    local name version bin minutes features want wanted=("$@") found
    for want in "${wanted[@]}"; do
        [[ "$want" == tansu || "$want" == garage ]] || die "install: unknown tool '$want' (tansu, garage)"
    done
    # fd 3: cargo must not inherit the list as its stdin.
    while read -r -u 3 name version bin minutes features; do
        if ((${#wanted[@]} > 0)); then
            found=0
            for want in "${wanted[@]}"; do [[ "$want" == "$name" ]] && found=1; done
            ((found)) || continue
        fi
        install_one "$name" "$version" "$bin" "$minutes" "$features"
    done 3< <(tools)
    if tool_version_ok "$TANSU_BIN" "$TANSU_VERSION" && tool_version_ok "$GARAGE_BIN" "$GARAGE_VERSION"; then
        # Several GB of intermediate files, needed again only for other versions.
        rm -rf "$BUILD_DIR"
    fi
}

# Succeeds when both tools are installed; otherwise says on stdout which ones `install` would
# build and how long that takes, and fails.
cmd_installed() {
    local name version bin minutes features rc=0
    while read -r name version bin minutes features; do
        if ! tool_version_ok "$bin" "$version"; then
            printf '%s %s (~%s min to build on 2 cores)\n' "$name" "$version" "$minutes"
            rc=1
        fi
    done < <(tools)
    return "$rc"
}

# ---------------------------------------------------------------- state dir
prepare_state_dir() {
    case "$STATE_DIR" in
        "" | / | "$HOME" | "$HOME/") die "refusing to use '$STATE_DIR' as state dir" ;;
        /*) ;;
        *) die "KBACKUP_SERVICES_DIR must be an absolute path (got '$STATE_DIR')" ;;
    esac
    if [[ -d "$STATE_DIR" ]]; then
        if [[ ! -f "$STATE_DIR/$MARKER" ]] && [[ -n "$(ls -A "$STATE_DIR")" ]]; then
            die "$STATE_DIR exists, is not empty and was not created by this script; refusing to wipe it"
        fi
        rm -rf "$STATE_DIR"
    fi
    mkdir -p "$STATE_DIR"
    touch "$STATE_DIR/$MARKER"
}

# ---------------------------------------------------------------- kafka
# Speaks the Kafka protocol: ApiVersions, then Metadata. Succeeds only when the
# broker answers on HOST:KAFKA_PORT and advertises exactly HOST:ADVERTISED_PORT.
kafka_probe() {
    python3 - "$HOST" "$KAFKA_PORT" "$ADVERTISED_PORT" <<'PY'
import socket, struct, sys

host, port, advertised = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def call(sock, api_key, version, corr, body):
    client = b"kbackup-services"
    header = struct.pack(">hhih", api_key, version, corr, len(client)) + client
    msg = header + body
    sock.sendall(struct.pack(">i", len(msg)) + msg)
    size = struct.unpack(">i", recv(sock, 4))[0]
    data = recv(sock, size)
    if struct.unpack(">i", data[:4])[0] != corr:
        raise RuntimeError("correlation id mismatch")
    return data[4:]


def recv(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise RuntimeError("connection closed")
        buf += chunk
    return buf


with socket.create_connection((host, port), timeout=3) as s:
    s.settimeout(3)
    # ApiVersions v0
    r = call(s, 18, 0, 1, b"")
    err, n = struct.unpack(">hi", r[:6])
    if err != 0:
        raise RuntimeError(f"ApiVersions error {err}")
    versions = {}
    for i in range(n):
        k, lo, hi = struct.unpack(">hhh", r[6 + 6 * i : 12 + 6 * i])
        versions[k] = (lo, hi)
    lo, hi = versions.get(3, (0, -1))
    usable = [v for v in range(1, 8) if lo <= v <= hi]
    if not usable:
        raise RuntimeError(f"no usable Metadata version in {lo}..{hi}")
    v = usable[0]
    body = struct.pack(">i", -1)  # all topics
    if v >= 4:
        body += b"\x00"  # allow_auto_topic_creation = false
    r = call(s, 3, v, 2, body)
    off = 4 if v >= 3 else 0  # throttle_time_ms
    (nb,) = struct.unpack(">i", r[off : off + 4])
    off += 4
    brokers = []
    for _ in range(nb):
        node, hl = struct.unpack(">ih", r[off : off + 6])
        off += 6
        h = r[off : off + hl].decode()
        off += hl
        (p, rl) = struct.unpack(">ih", r[off : off + 6])
        off += 6 + max(rl, 0)
        brokers.append((node, h, p))
    if not any(h == host and p == advertised for _, h, p in brokers):
        raise RuntimeError(f"broker advertises {brokers}, expected {host}:{advertised}")
    print(f"Metadata v{v}: brokers={brokers}", file=sys.stderr)
PY
}

start_tansu() {
    local url="tcp://$HOST:$KAFKA_PORT" advertised="tcp://$HOST:$ADVERTISED_PORT" storage
    case "$TANSU_STORAGE" in
        # relative to the working directory, i.e. $STATE_DIR/tansu.db
        sqlite) storage="sqlite://tansu.db" ;;
        *) storage="memory://tansu/" ;;
    esac
    local args=(broker
        --cluster-id "$KAFKA_CLUSTER_ID"
        --listener-url "$url"
        --advertised-listener-url "$advertised"
        --storage-engine "$storage")
    log "starting: $TANSU_BIN ${args[*]}"
    # cd: tansu loads a .env file from its working directory (and the sqlite
    # file is relative to it). Env vars that would add a schema registry or an
    # OTLP exporter are dropped.
    (cd "$STATE_DIR" && exec env -u SCHEMA_REGISTRY -u OTEL_EXPORTER_OTLP_ENDPOINT \
        nohup "$TANSU_BIN" "${args[@]}" </dev/null >"$STATE_DIR/tansu.log" 2>&1) &
    printf '%s\n' "$!" >"$(pid_file tansu)"
}

wait_tansu() {
    local deadline=$(($(now) + TIMEOUT)) err="$STATE_DIR/tansu.probe.err"
    while :; do
        recorded_pid_alive tansu || fail_start tansu "tansu exited during startup"
        if port_open "$KAFKA_PORT" && kafka_probe 2>"$err"; then
            log "kafka: answering Metadata on $HOST:$KAFKA_PORT"
            return 0
        fi
        if (($(now) >= deadline)); then
            cat "$err" >&2 || true
            fail_start tansu "kafka did not answer a Metadata request on $HOST:$KAFKA_PORT within ${TIMEOUT}s"
        fi
        sleep 0.2
    done
}

# ---------------------------------------------------------------- garage
# Garage env overrides that would shadow the generated config.
GARAGE_ENV_UNSET=(-u GARAGE_RPC_HOST -u GARAGE_CONFIG_FILE -u GARAGE_RPC_SECRET
    -u GARAGE_RPC_SECRET_FILE -u GARAGE_ADMIN_TOKEN -u GARAGE_ADMIN_TOKEN_FILE
    -u GARAGE_METRICS_TOKEN -u GARAGE_METRICS_TOKEN_FILE)

garage() { env "${GARAGE_ENV_UNSET[@]}" "$GARAGE_BIN" -c "$GARAGE_CONF" "$@"; }

EMPTY_SHA256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

write_garage_conf() {
    mkdir -p "$STATE_DIR/garage/meta" "$STATE_DIR/garage/data"
    (
        umask 077
        cat >"$GARAGE_CONF" <<EOF
metadata_dir = "$STATE_DIR/garage/meta"
data_dir = "$STATE_DIR/garage/data"
db_engine = "sqlite"
metadata_fsync = false
data_fsync = false
replication_factor = 1

rpc_bind_addr = "$HOST:$GARAGE_RPC_PORT"
rpc_public_addr = "$HOST:$GARAGE_RPC_PORT"
rpc_secret = "$(random_hex 32)"
bootstrap_peers = []

[s3_api]
api_bind_addr = "$HOST:$S3_PORT"
s3_region = "$S3_REGION"

[admin]
api_bind_addr = "$HOST:$GARAGE_ADMIN_PORT"
admin_token = "$(random_hex 32)"
EOF
    )
}

start_garage() {
    write_garage_conf
    log "starting: $GARAGE_BIN -c $GARAGE_CONF server"
    (cd "$STATE_DIR" && exec env "${GARAGE_ENV_UNSET[@]}" NO_COLOR=1 \
        nohup "$GARAGE_BIN" -c "$GARAGE_CONF" server </dev/null >"$STATE_DIR/garage.log" 2>&1) &
    printf '%s\n' "$!" >"$(pid_file garage)"
}

# retry DESCRIPTION CMD...: rerun CMD until it succeeds or the deadline passes.
garage_retry() {
    local what="$1" deadline="$GARAGE_DEADLINE" out
    shift
    while :; do
        recorded_pid_alive garage || fail_start garage "garage exited during startup ($what)"
        if out="$("$@" 2>&1)"; then
            printf '%s\n' "$out"
            return 0
        fi
        if (($(now) >= deadline)); then
            printf '%s\n' "$out" >&2
            fail_start garage "garage: '$what' did not succeed within ${TIMEOUT}s"
        fi
        sleep 0.3
    done
}

s3_list_status() {
    # HTTP status of a signed ListObjectsV2 on the bucket (000 if no answer).
    # Garage requires x-amz-content-sha256 (here: SHA-256 of the empty body).
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
        --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$1:$2" \
        -H "x-amz-content-sha256: $EMPTY_SHA256" \
        "http://$HOST:$S3_PORT/$S3_BUCKET?list-type=2" || true
}

setup_garage() {
    local node_id key_id secret
    # One deadline for the whole garage bring-up (daemon + layout + key + bucket).
    GARAGE_DEADLINE=$(($(now) + TIMEOUT))
    garage_retry "garage status" garage status >/dev/null
    node_id="$(garage_retry "garage node id" garage node id -q)"
    node_id="${node_id%%@*}"
    [[ "$node_id" =~ ^[0-9a-f]{16,}$ ]] || fail_start garage "could not parse garage node id from '$node_id'"
    log "garage: node $node_id, applying layout"
    garage_retry "layout assign" garage layout assign -z dc1 -c 1G "$node_id" >>"$STATE_DIR/garage-setup.log"
    garage_retry "layout apply" garage layout apply --version 1 >>"$STATE_DIR/garage-setup.log"

    key_id="GK$(random_hex 12)"
    secret="$(random_hex 32)"
    garage_retry "key import" garage key import --yes -n "$GARAGE_KEY_NAME" "$key_id" "$secret" >/dev/null
    garage_retry "bucket create" garage bucket create "$S3_BUCKET" >/dev/null
    garage_retry "bucket allow" garage bucket allow --read --write --owner "$S3_BUCKET" --key "$key_id" >/dev/null

    local deadline="$GARAGE_DEADLINE" code
    while :; do
        code="$(s3_list_status "$key_id" "$secret")"
        [[ "$code" == 200 ]] && break
        if (($(now) >= deadline)); then
            fail_start garage "S3 ListObjectsV2 on http://$HOST:$S3_PORT/$S3_BUCKET returned HTTP $code (want 200) within ${TIMEOUT}s"
        fi
        sleep 0.3
    done
    log "s3: bucket '$S3_BUCKET' answers signed requests on http://$HOST:$S3_PORT (region $S3_REGION)"

    {
        printf 'export KAFKA_BOOTSTRAP=%s\n' "$HOST:$ADVERTISED_PORT"
        printf 'export S3_ENDPOINT=%s\n' "http://$HOST:$S3_PORT"
        printf 'export S3_BUCKET=%q\n' "$S3_BUCKET"
        printf 'export S3_REGION=%q\n' "$S3_REGION"
        printf 'export AWS_REGION=%q\n' "$S3_REGION"
        printf 'export AWS_ACCESS_KEY_ID=%s\n' "$key_id"
        printf 'export AWS_SECRET_ACCESS_KEY=%s\n' "$secret"
        printf 'export TEST_INTEGRATION=1\n'
    } >"$STATE_DIR/env.tmp"
    chmod 600 "$STATE_DIR/env.tmp"
    mv "$STATE_DIR/env.tmp" "$STATE_DIR/env"
}

# ---------------------------------------------------------------- commands
cmd_start() {
    local t0
    t0="$(now_ms)"
    need_bins
    command -v python3 >/dev/null 2>&1 || die "python3 is needed for the Kafka readiness probe"
    command -v curl >/dev/null 2>&1 || die "curl is needed for the S3 readiness probe"
    [[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "KBACKUP_SERVICES_TIMEOUT must be a number of seconds"
    [[ "$TANSU_STORAGE" == sqlite || "$TANSU_STORAGE" == memory ]] ||
        die "KBACKUP_TANSU_STORAGE must be 'sqlite' or 'memory' (got '$TANSU_STORAGE')"

    # A previous run from this state dir is stopped before its data is wiped.
    if [[ -d "$STATE_DIR" ]]; then
        stop_all
    fi

    local name port
    for name in KAFKA_PORT ADVERTISED_PORT S3_PORT GARAGE_RPC_PORT GARAGE_ADMIN_PORT; do
        port="${!name}"
        if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
            die "$name: invalid port '$port'"
        fi
        # The advertised port may be a proxy that is already listening.
        if [[ "$name" != ADVERTISED_PORT ]] && port_open "$port"; then
            die "port $HOST:$port ($name) is already in use; free it or set KBACKUP_$name"
        fi
    done

    prepare_state_dir
    start_tansu
    start_garage
    wait_tansu
    setup_garage
    log "services ready in $(elapsed_since "$t0") s; state in $STATE_DIR"
    cat "$STATE_DIR/env"
}

cmd_env() {
    [[ -f "$STATE_DIR/env" ]] || die "services not started (no $STATE_DIR/env); run: ci/services.sh start"
    local name
    for name in tansu garage; do
        live_pid "$name" >/dev/null || die "$name is not running (stale $STATE_DIR/env); run: ci/services.sh start"
    done
    cat "$STATE_DIR/env"
}

cmd_status() {
    local rc=0 name port pid
    for name in tansu garage; do
        if [[ "$name" == tansu ]]; then port="$KAFKA_PORT"; else port="$S3_PORT"; fi
        if pid="$(live_pid "$name")"; then
            if port_open "$port"; then
                printf '%-7s running (pid %s), %s:%s answers\n' "$name" "$pid" "$HOST" "$port"
            else
                printf '%-7s process alive (pid %s) but %s:%s does not answer\n' "$name" "$pid" "$HOST" "$port"
                rc=1
            fi
        else
            printf '%-7s not running\n' "$name"
            rc=1
        fi
    done
    return "$rc"
}

# Stops the services recorded in the pid files: TERM to all at once, KILL
# whatever is still alive after 5 s. Only those exact pids are signalled.
stop_all() {
    local name pid pids=() i alive
    for name in tansu garage; do
        if [[ -n "${STOP_FRESH_PIDS:-}" ]] && recorded_pid_alive "$name"; then
            pid="$(<"$(pid_file "$name")")"
        elif ! pid="$(live_pid "$name")"; then
            continue
        fi
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
    done
    for ((i = 0; i < 50 && ${#pids[@]} > 0; i++)); do
        alive=()
        for pid in "${pids[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then alive+=("$pid"); fi
        done
        pids=("${alive[@]}")
        ((${#pids[@]} == 0)) || sleep 0.1
    done
    for pid in "${pids[@]}"; do
        log "pid $pid still alive after 5 s, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -f "$(pid_file tansu)" "$(pid_file garage)" "$STATE_DIR/env"
}

cmd_stop() {
    stop_all
    log "stopped"
}

usage() {
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2
}

main() {
    local cmd="${1:-}"
    case "$cmd" in
        install)
            shift
            cmd_install "$@"
            ;;
        installed) cmd_installed ;;
        start) cmd_start ;;
        env) cmd_env ;;
        status) cmd_status ;;
        stop) cmd_stop ;;
        -h | --help | help) usage ;;
        *)
            usage
            exit 2
            ;;
    esac
}

main "$@"
