# syntax=docker/dockerfile:1
#
# Fieldnotes: one static-ish binary, the config and the migrations.
#
#   docker build -t fieldnotes .
#   docker run --rm -e SLACK_BOT_TOKEN -e SLACK_APP_TOKEN -v fieldnotes-data:/app/data fieldnotes
#   docker run --rm fieldnotes demo --out /app/data/demo-out
#
# Needs BuildKit (the default builder since Docker 23) for the cache mounts.

# ---------------------------------------------------------------- builder
FROM rust:1-bookworm AS builder
WORKDIR /src

# The whole workspace is needed: `fieldnotes` depends on crates/slack-emulator
# (the `demo` command runs it in-process), and `sqlx::migrate!` embeds
# migrations/ at compile time. .dockerignore keeps target/ and .git out.
COPY . .

# The registry and target/ live in cache mounts, so a rebuild after a source
# change recompiles only our two crates, not the ~320 dependencies in
# Cargo.lock. The binary is copied out: cache mounts are not in the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p fieldnotes \
    && install -m 0755 target/release/fieldnotes /usr/local/bin/fieldnotes

# ---------------------------------------------------------------- runtime
FROM debian:bookworm-slim

# ca-certificates: the Web API and Socket Mode use TLS (native roots).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 fieldnotes \
    && useradd --system --uid 10001 --gid fieldnotes --home-dir /app --shell /usr/sbin/nologin fieldnotes

WORKDIR /app
COPY --from=builder /usr/local/bin/fieldnotes /usr/local/bin/fieldnotes
# The default config path is config/fieldnotes.toml relative to WORKDIR;
# mount your own over it, or point FIELDNOTES_CONFIG elsewhere.
COPY config/ /app/config/
# Migrations are embedded in the binary (sqlx::migrate!) and applied at start
# and by `fieldnotes migrate`; this copy is for reference and ops only.
COPY migrations/ /app/migrations/

# SQLite lives in a volume the non-root user can write. Set DATABASE_URL to
# postgres://… to use PostgreSQL instead (needed for several replicas).
RUN mkdir -p /app/data && chown fieldnotes:fieldnotes /app/data
VOLUME ["/app/data"]
ENV DATABASE_URL="sqlite:///app/data/fieldnotes.db?mode=rwc" \
    RUST_LOG="fieldnotes=info,warn"

USER fieldnotes:fieldnotes

# Only used in HTTP mode: `run --http 0.0.0.0:3000` serves POST /slack/events
# and GET /healthz. Socket Mode needs no inbound port.
EXPOSE 3000

# Health: in HTTP mode, GET /healthz answers 200 "ok" when the database is
# reachable and 503 otherwise. There is no HEALTHCHECK here because Socket
# Mode serves no HTTP and this image carries no curl; in HTTP mode use your
# orchestrator's HTTP probe on :3000/healthz (Kubernetes httpGet, ECS, …).

ENTRYPOINT ["fieldnotes"]
CMD ["run"]
