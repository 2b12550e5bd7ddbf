# deploy/test: one compose project (docker-compose.yml, plus more files for the scale run),
# under a name of its own, torn down with its volumes and networks by down_all (the EXIT trap).

PROJECTS=()

# compose PROJECT [FILES...] -- ARGS...
compose_in() {
    local project=$1 files=(-f docker-compose.yml)
    shift
    while [ "$1" != -- ]; do
        files+=(-f "$1")
        shift
    done
    shift
    "${COMPOSE[@]}" -p "$project" "${files[@]}" "$@"
}

down_all() {
    local p
    for p in "${PROJECTS[@]}"; do
        say "tearing down $p (containers, volumes, networks)"
        # Both files: the scale run's services and network are known to either.
        "${COMPOSE[@]}" -p "$p" -f docker-compose.yml -f deploy/docker-compose.scale.yml \
            down -v --remove-orphans -t 5 >/dev/null 2>&1 || true
        # The images compose named for this project: the tags only (--no-prune), so that the
        # layers stay in Docker's cache for the next run.
        docker images --format '{{.Repository}}:{{.Tag}}' | grep -E "^${p}[-_]" \
            | xargs -r docker rmi --no-prune >/dev/null 2>&1 || true
    done
    PROJECTS=()
}

# Runs the README's first-account commands with the command given (`c exec -T app`, or
# `docker exec ID`) in front of `agentprofile …`; sets TOKEN and SSID.
first_account() {
    "$@" agentprofile account create acme --name "ACME support" >/dev/null || fail "account create"
    TOKEN=$("$@" agentprofile token create acme | tail -n 1 | tr -d '\r')
    [[ "$TOKEN" =~ ^[A-Za-z0-9_-]{20,}$ ]] || fail "token create printed '$TOKEN'"
    "$@" agentprofile agent create acme 7 --name "Ann" >/dev/null || fail "agent create"
    SSID=$("$@" agentprofile session create acme 7 | tail -n 1 | tr -d '\r')
    [[ "$SSID" =~ ^[A-Za-z0-9_-]{20,}$ ]] || fail "session create printed '$SSID'"
    say "account acme, an admin token, agent 7 and its ssid, made with \`${*:1:2} … agentprofile\`"
}

# Single instance: up, first account, routes, PostgreSQL restart, SIGTERM drain, down.
run_single() {
    local project=$1 port base app pg
    PROJECTS+=("$project")
    port=$(free_port)
    base="http://127.0.0.1:$port"
    export PORT=$port
    c() { compose_in "$project" -- "$@"; }

    phase "single: build the app image"
    c build app >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log" >&2; fail "docker compose build"; }

    phase "single: up, both healthchecks"
    c up -d >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; fail "docker compose up"; }
    pg=$(c ps -q postgres)
    app=$(c ps -q app)
    wait_healthy "$pg" 120
    wait_healthy "$app" 120
    say "postgres and app healthy; app on $base"

    phase "single: first account (compose exec)"
    # What the README shows (-T: no terminal here).
    first_account c exec -T app

    phase "single: upstream and /v1 routes"
    python3 deploy/checks.py smoke "$base" "$TOKEN" "$SSID" 7

    phase "single: PostgreSQL restart"
    # /readyz polled meanwhile, to see the app notice the outage, not only the recovery.
    (while :; do
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 1 "$base/readyz"
        sleep 0.2
    done) >"$WORK/readyz.log" 2>/dev/null &
    local poller=$!
    c restart postgres >/dev/null 2>&1
    wait_ok "$base/readyz" 60
    kill "$poller" 2>/dev/null
    wait "$poller" 2>/dev/null || true
    python3 deploy/checks.py recovered "$base" "$SSID"
    say "during the restart /readyz answered: $(sort "$WORK/readyz.log" | uniq -c | awk '{ printf "%s%s x%s", s, $2, $1; s = ", " }');" \
        "ready again ${WAITED}s after \`restart postgres\` returned"

    phase "single: SIGTERM and drain"
    local t0
    t0=$(date +%s.%N)
    c stop -t 30 app >/dev/null 2>&1
    STOP_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    # To a file first: `grep -q` ends the pipe early, which pipefail would count as a failure.
    docker logs "$app" >"$WORK/app.log" 2>&1
    grep -q "shutting down: finishing in-flight requests" "$WORK/app.log" \
        || { tail -n 20 "$WORK/app.log" >&2; fail "no drain line in the app's log after SIGTERM"; }
    [ "$(docker inspect -f '{{.State.ExitCode}}' "$app")" = 0 ] || fail "the app did not exit 0 after SIGTERM"
    say "SIGTERM: the app logged its drain and exited 0, ${STOP_SECS}s after the stop began"

    phase "single: down -v"
    down_all
}
