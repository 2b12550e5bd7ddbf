# deploy/test: the base images the Dockerfile and the compose files name, made locally from
# Debian packages (no registry can be reached), each built only when its tag is missing:
# - debian:bookworm-slim: a minbase debootstrap of bookworm, imported;
# - rust:<RUST_VERSION>-bookworm (the Dockerfile's FROM): that base, gcc, and this machine's
#   own Rust toolchain;
# - agentprofile-test/postgres:15: that base and Debian's PostgreSQL 15, behaving as the
#   official image does (deploy/images/postgres).
# DEPLOY_TEST_REBUILD_BASE=1 rebuilds them all.

DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE_IMAGE="debian:bookworm-slim"
PG_IMAGE="agentprofile-test/postgres:15"

have_image() {
    [ "${DEPLOY_TEST_REBUILD_BASE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1
}

build_bookworm_base() {
    have_image "$BASE_IMAGE" && return 0
    say "building $BASE_IMAGE with debootstrap ($DEBIAN_MIRROR)"
    local dir
    dir=$(mktemp -d /tmp/deploy-test-rootfs.XXXXXX)
    as_root debootstrap --variant=minbase bookworm "$dir/rootfs" "$DEBIAN_MIRROR" >"$dir/log" 2>&1 \
        || { tail -n 20 "$dir/log" >&2; as_root rm -rf "$dir"; fail "debootstrap failed"; }
    # The official image's sources: the release, its updates and its security fixes.
    as_root rm -f "$dir/rootfs/etc/apt/sources.list"
    as_root tee "$dir/rootfs/etc/apt/sources.list.d/debian.sources" >/dev/null <<SOURCES
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    as_root chroot "$dir/rootfs" apt-get clean
    as_root rm -rf "$dir/rootfs/var/lib/apt/lists/"* "$dir/rootfs/var/log/"*.log
    as_root tar -C "$dir/rootfs" --numeric-owner -cf - . \
        | docker import --change 'CMD ["bash"]' \
            --change 'LABEL org.agentprofile.deploy-test=base' - "$BASE_IMAGE" >/dev/null
    as_root rm -rf "$dir"
}

# The tag the Dockerfile's builder stage names: rust:${RUST_VERSION}-bookworm.
rust_image() {
    local version
    version=$(sed -n 's/^ARG RUST_VERSION=//p' Dockerfile | head -n 1)
    [ -n "$version" ] || fail "Dockerfile: no ARG RUST_VERSION=..."
    echo "rust:${version}-bookworm"
}

build_rust_image() {
    local tag sysroot have want
    tag=$(rust_image)
    have_image "$tag" && return 0
    command -v rustc >/dev/null 2>&1 || fail "no rustc on PATH: the builder image copies this machine's toolchain"
    sysroot=$(rustc --print sysroot)
    have=$(rustc --version | awk '{ print $2 }')
    want=${tag#rust:}
    want=${want%-bookworm}
    case "$have" in
        "$want" | "$want".*) ;;
        *) say "note: $tag gets this machine's rustc $have (the Dockerfile pins $want)" ;;
    esac
    say "building $tag from $BASE_IMAGE and rustc $have ($sysroot)"
    # The context: the Dockerfile; the certificate authorities this machine adds to Debian's
    # (/usr/local/share/ca-certificates: a TLS-inspecting proxy's, say), so that cargo in the
    # build trusts what cargo here trusts; and the toolchain's bin/ and lib/ (not its docs).
    local dir
    dir=$(mktemp -d /tmp/deploy-test-rust.XXXXXX)
    cp deploy/images/rust/Dockerfile "$dir/"
    mkdir "$dir/ca"
    cp /usr/local/share/ca-certificates/*.crt "$dir/ca/" 2>/dev/null || true
    tar -cf - -C "$dir" Dockerfile ca \
        -C "$sysroot" --transform='s,^bin,toolchain/bin,;s,^lib,toolchain/lib,' \
        bin/cargo bin/rustc bin/rustdoc lib \
        | docker_build -t "$tag" -
    rm -rf "$dir"
}

build_postgres_image() {
    have_image "$PG_IMAGE" && return 0
    say "building $PG_IMAGE from $BASE_IMAGE and Debian's postgresql-15"
    docker_build -t "$PG_IMAGE" deploy/images/postgres
}

# docker build, quiet unless it fails (then the end of its log), labelled so these images can
# be found: docker images --filter label=org.agentprofile.deploy-test=base.
docker_build() {
    local log
    log=$(mktemp /tmp/deploy-test-build.XXXXXX)
    if ! docker build --label org.agentprofile.deploy-test=base "$@" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        rm -f "$log"
        fail "docker build $* failed"
    fi
    rm -f "$log"
}

build_base_images() {
    build_bookworm_base
    build_rust_image
    build_postgres_image
}
