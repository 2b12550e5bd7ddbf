# deploy/test: messages, phases and their timings, free ports, waiting.

say() { echo "deploy/test: $*"; }
fail() {
    echo "deploy/test: FAIL: $*" >&2
    exit 1
}

PHASES=()
PHASE_NAME=""
PHASE_START=0
RUN_START=$(date +%s.%N)

# Ends the running phase (recording its time) and starts the next, if named.
phase() {
    local now
    now=$(date +%s.%N)
    if [ -n "$PHASE_NAME" ]; then
        PHASES+=("$(awk -v n="$PHASE_NAME" -v a="$PHASE_START" -v b="$now" 'BEGIN { printf "%-44s %7.1f s", n, b - a }')")
    fi
    PHASE_NAME="${1:-}"
    PHASE_START=$now
    [ -z "$PHASE_NAME" ] || say "== $PHASE_NAME"
}

print_phases() {
    local line
    say "phase timings:"
    for line in "${PHASES[@]}"; do echo "  $line"; done
}

elapsed_total() {
    awk -v a="$RUN_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }'
}

# A TCP port nothing on 127.0.0.1 listens on; with a count, the first of that many in a row.
free_port() {
    python3 - "${1:-1}" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    first = random.randint(20000, 45000)
    socks = []
    try:
        for p in range(first, first + n):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(first)
    sys.exit(0)
sys.exit("no free port")
PY
}

# Waits until a container's healthcheck says healthy (fails on unhealthy or after $2 seconds).
wait_healthy() {
    local id=$1 limit=${2:-120} status=""
    for _ in $(seq 1 $((limit * 2))); do
        status=$(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null || echo gone)
        [ "$status" = healthy ] && return 0
        sleep 0.5
    done
    docker logs --tail 30 "$id" >&2 || true
    fail "container $id is $status, not healthy, after ${limit}s"
}

# Waits until GET $1 answers 200 (at most $2 seconds); sets WAITED to the seconds it took.
# (Prints nothing: a `fail` under a redirection would send the EXIT trap's report there too.)
wait_ok() {
    local url=$1 limit=${2:-60} start
    start=$(date +%s.%N)
    for _ in $(seq 1 $((limit * 10))); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url")" = 200 ]; then
            WAITED=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
            return 0
        fi
        sleep 0.1
    done
    fail "$url did not answer 200 within ${limit}s"
}
