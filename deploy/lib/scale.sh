# deploy/test: the scaled-out run. docker-compose.yml + deploy/docker-compose.scale.yml with
# `--scale app=2`: two instances, each also on a loopback port of its own, HAProxy in front.

# A /24 in 172.30.0.0/16 that no Docker network uses yet.
free_subnet() {
    local used n
    used=$(docker network inspect $(docker network ls -q) -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' 2>/dev/null || true)
    for _ in $(seq 1 50); do
        n=$((RANDOM % 200 + 20))
        case " $used " in *" 172.30.$n.0/24 "*) continue ;; esac
        echo "172.30.$n"
        return 0
    done
    fail "no free 172.30.x.0/24 for the scale network"
}

# The host port an instance's 8080 is published on.
host_port() {
    docker port "$1" 8080/tcp | head -n 1 | sed 's/.*://'
}

# Restarts one instance (SIGTERM, drain, start) and waits until it is ready again and the
# balancer has had time to see it up (checks every 1 s, rise 2).
restart_instance() {
    local id=$1 port
    docker restart -t 30 "$id" >/dev/null
    port=$(host_port "$id")
    wait_ok "http://127.0.0.1:$port/readyz" 60
    sleep 3
}

run_scale() {
    local project=$1 first net lb_port apps a b base_a base_b stop
    PROJECTS+=("$project")
    first=$(free_port 2)
    lb_port=$(free_port)
    net=$(free_subnet)
    export PORT="$first-$((first + 1))" LB_PORT=$lb_port
    export SCALE_SUBNET="$net.0/24" SCALE_LB_ADDR="$net.250"
    s() { compose_in "$project" deploy/docker-compose.scale.yml -- "$@"; }

    phase "scale: build (cached) and up, 2 instances"
    s build >"$WORK/build-scale.log" 2>&1 || { tail -n 40 "$WORK/build-scale.log" >&2; fail "docker compose build (scale)"; }
    s up -d --scale app=2 >"$WORK/up-scale.log" 2>&1 || { cat "$WORK/up-scale.log" >&2; fail "docker compose up (scale)"; }
    mapfile -t apps < <(s ps -q app)
    [ ${#apps[@]} -eq 2 ] || fail "expected 2 app instances, have ${#apps[@]}"
    for a in "${apps[@]}"; do wait_healthy "$a" 120; done
    base_a="http://127.0.0.1:$(host_port "${apps[0]}")"
    base_b="http://127.0.0.1:$(host_port "${apps[1]}")"
    wait_ok "http://127.0.0.1:$lb_port/readyz" 60
    say "instances on $base_a and $base_b, HAProxy on 127.0.0.1:$lb_port (network $SCALE_SUBNET)"

    phase "scale: one instance writes, the other reads"
    first_account docker exec "${apps[0]}"
    python3 deploy/checks.py cross "$base_a" "$base_b" "$TOKEN" "$SSID" 7
    for a in 11 12 13; do docker exec "${apps[1]}" agentprofile agent create acme "$a" >/dev/null; done

    phase "scale: rolling restart under load"
    stop="$WORK/rolling.stop"
    python3 deploy/checks.py rolling "http://127.0.0.1:$lb_port" "$TOKEN" 11,12,13 "$stop" &
    local checker=$!
    sleep 3
    for a in "${apps[@]}"; do
        say "restarting instance ${a:0:12}"
        restart_instance "$a"
    done
    sleep 2
    touch "$stop"
    wait "$checker" || fail "the rolling restart check failed"
    for a in "${apps[@]}"; do
        docker logs "$a" >"$WORK/app.log" 2>&1
        grep -q "shutting down: finishing in-flight requests" "$WORK/app.log" \
            || fail "instance ${a:0:12} logged no drain on its restart"
    done

    phase "scale: down -v"
    down_all
}
