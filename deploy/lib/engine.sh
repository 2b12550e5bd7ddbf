# deploy/test: the engine. Installs Docker, Compose and debootstrap from Debian when missing,
# starts dockerd when it is not running (stop_engine stops only a daemon started here), and
# picks `docker compose` (v2) or Debian's `docker-compose` (v1), which read the same files.

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
    local packages=()
    command -v dockerd >/dev/null 2>&1 || packages+=(docker.io)
    if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
        packages+=(docker-compose)
    fi
    command -v debootstrap >/dev/null 2>&1 || packages+=(debootstrap)
    [ ${#packages[@]} -eq 0 ] && return 0
    say "installing ${packages[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
}

STARTED_DOCKERD=""

start_engine() {
    if docker info >/dev/null 2>&1; then
        return 0
    fi
    DOCKERD_LOG=$(mktemp /tmp/deploy-test-dockerd.XXXXXX)
    say "starting dockerd (log: $DOCKERD_LOG)"
    # Not through a function: $! must be dockerd itself (or sudo, which passes signals on).
    if [ "$(id -u)" -eq 0 ]; then
        dockerd >"$DOCKERD_LOG" 2>&1 &
    else
        sudo dockerd >"$DOCKERD_LOG" 2>&1 &
    fi
    STARTED_DOCKERD=$!
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && return 0
        kill -0 "$STARTED_DOCKERD" 2>/dev/null || break
        sleep 0.5
    done
    tail -n 20 "$DOCKERD_LOG" >&2
    fail "dockerd did not start"
}

stop_engine() {
    [ -n "$STARTED_DOCKERD" ] || return 0
    say "stopping the dockerd this run started (pid $STARTED_DOCKERD)"
    as_root kill -TERM "$STARTED_DOCKERD" 2>/dev/null || true
    for _ in $(seq 1 60); do
        kill -0 "$STARTED_DOCKERD" 2>/dev/null || break
        sleep 0.5
    done
    STARTED_DOCKERD=""
}

pick_compose() {
    if docker compose version >/dev/null 2>&1; then
        COMPOSE=(docker compose)
    else
        COMPOSE=(docker-compose)
    fi
}
