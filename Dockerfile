# agentprofile: a small runtime image built from the lock file.
#   docker build -t agentprofile .
#   docker run -d --name ap -p 127.0.0.1:8080:8080 -v ap-data:/app/data agentprofile
#                                  # SQLite in /app/data, kept on the ap-data volume
#   docker exec ap agentprofile account create acme
#                                  # an operator command, inside the running container so it
#                                  # opens the same database (`docker run … account create`
#                                  # would write to a new container's own SQLite file)
# With PostgreSQL: docker compose up -d, then docker compose exec app agentprofile … (README
# "Deploying"); deploy/test builds and runs both for real.

# ---- builder ----------------------------------------------------------------------------------
# A pinned toolchain (edition 2024 needs 1.85 or newer), on bookworm like the runtime so glibc matches.
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /build

# Dependencies alone first: this layer is rebuilt only when the manifests or Cargo.lock change.
# The workspace's other member (the tests' support crate) must be there for Cargo to read the
# workspace; only its manifest is needed, with an empty lib (`cargo build` builds the root
# package alone).
COPY Cargo.toml Cargo.lock build.rs ./
COPY tests/common/Cargo.toml tests/common/
RUN mkdir -p src tests/common/src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs tests/common/src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src

# The real build. sqlx::migrate! embeds ./migrations at compile time, so they must be here first;
# the board's page (assets/board, include_str!) too.
# COPY keeps the sources' own (older) mtimes: touch them, or cargo keeps the dummy build.
COPY migrations ./migrations
COPY assets ./assets
COPY src ./src
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates for outbound TLS: webhook deliveries trust the system roots. curl (a few MB)
# so the image carries its own HEALTHCHECK: it then works under plain `docker run` and any
# orchestrator, not only under compose.
# Versions are not pinned: bookworm's archive drops superseded ones, which would break the build.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

# A fixed non-root uid/gid (numeric, so runAsNonRoot can verify it), owning only /app/data:
# the default DATABASE_URL, sqlite://data/agentprofile.db, resolves there from WORKDIR /app.
RUN groupadd --system --gid 10001 agentprofile \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin agentprofile \
 && mkdir -p /app/data \
 && chown 10001:10001 /app/data
WORKDIR /app

COPY --from=builder /build/target/release/agentprofile /usr/local/bin/agentprofile

USER 10001:10001
# Listen on every interface inside the container (the app's own default is 127.0.0.1:8080).
ENV BIND_ADDR=0.0.0.0:8080
EXPOSE 8080

# /readyz answers 200 when the database answers and the server is not draining, 503 otherwise.
# The port follows BIND_ADDR, so overriding it does not break the check (hence the shell form).
# hadolint ignore=DL3025
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${BIND_ADDR##*:}/readyz" || exit 1

# Exec form: agentprofile is PID 1 and gets SIGTERM itself, then drains for SHUTDOWN_TIMEOUT_SECS.
ENTRYPOINT ["agentprofile"]
CMD ["serve"]
