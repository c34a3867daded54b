# Fieldnotes: one binary and its config, on a slim Debian base, as a
# non-root user.
#
#   docker build -t fieldnotes .
#   docker run -d --env-file .env -v fieldnotes-data:/data -p 127.0.0.1:9090:9090 fieldnotes
#
# Stages:
#   deps     builds every dependency against stub sources, from the manifests
#            and Cargo.lock alone: this layer is rebuilt only when they change;
#   builder  copies the real sources and builds our two crates on top;
#   runtime  debian:bookworm-slim with ca-certificates and the binary.
# Works with the classic builder and BuildKit alike (no cache mounts, no
# frontend image to fetch).

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ------------------------------------------------------------------- deps
FROM ${RUST_IMAGE} AS deps
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY crates/slack-emulator/Cargo.toml crates/slack-emulator/
# Every workspace member's manifest is needed for cargo to load the workspace.
COPY fuzz/Cargo.toml fuzz/
# Stubs for every target the manifests declare, so cargo resolves and
# builds the dependency graph without our code.
RUN mkdir -p src benches crates/slack-emulator/src fuzz/src migrations/sqlite migrations/postgres \
    && echo 'fn main() {}' > src/main.rs && : > src/lib.rs \
    && for b in fanout capture ingest; do echo 'fn main() {}' > benches/$b.rs; done \
    && echo 'fn main() {}' > crates/slack-emulator/src/main.rs \
    && : > crates/slack-emulator/src/lib.rs && : > fuzz/src/lib.rs \
    && cargo build --release --locked -p fieldnotes --no-default-features \
    && rm -rf target/release/.fingerprint/fieldnotes-* target/release/.fingerprint/slack-emulator-* \
              target/release/deps/fieldnotes-* target/release/deps/libfieldnotes-* \
              target/release/deps/slack_emulator-* target/release/deps/libslack_emulator-*

# ---------------------------------------------------------------- builder
FROM deps AS builder
# The whole workspace (cargo loads every member) and migrations/, which
# `sqlx::migrate!` embeds. Built without the default `demo` feature: the
# in-process Slack emulator stays out of the production binary.
# .dockerignore keeps target/ and .git out.
COPY . .
RUN cargo build --release --locked -p fieldnotes --no-default-features \
    && install -m 0755 target/release/fieldnotes /usr/local/bin/fieldnotes \
    && fieldnotes --version

# ---------------------------------------------------------------- runtime
FROM ${RUNTIME_IMAGE}

# ca-certificates: the Web API and Socket Mode use TLS (native roots).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 fieldnotes \
    && useradd --system --uid 10001 --gid fieldnotes --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin fieldnotes

COPY --from=builder /usr/local/bin/fieldnotes /usr/local/bin/fieldnotes
# The shipped config; mount your own directory over /config (a directory,
# not the file, so the bot sees edits that replace the file).
COPY config/fieldnotes.toml /config/fieldnotes.toml
RUN mkdir -p /data && chown fieldnotes:fieldnotes /data

# /config: the config file, read-only is fine. /data: the SQLite database
# (unused with a postgres:// DATABASE_URL) and demo output.
VOLUME ["/config", "/data"]
WORKDIR /data

# The admin listener (GET /healthz, /readyz, /metrics) is on in every
# mode; publish it only to your monitoring network. Secrets come from the
# environment at run time (--env-file), never from the image.
ENV FIELDNOTES_CONFIG=/config/fieldnotes.toml \
    DATABASE_URL="sqlite:///data/fieldnotes.db?mode=rwc" \
    FIELDNOTES_ADMIN_ADDR=0.0.0.0:9090 \
    FIELDNOTES_HEALTHCHECK_URL=http://127.0.0.1:9090/healthz \
    FIELDNOTES_LOG_FORMAT=json \
    RUST_LOG="fieldnotes=info,warn"

USER fieldnotes:fieldnotes

# 9090: admin. 3000: Slack's requests, in HTTP mode (`run --http 0.0.0.0:3000`).
EXPOSE 9090 3000

# Liveness only: `fieldnotes healthcheck` GETs /healthz (no curl in the
# image). Readiness (/readyz: database and Slack) is for your orchestrator.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["fieldnotes", "healthcheck"]

# SIGTERM: in-flight deliveries finish and leases are handed back.
STOPSIGNAL SIGTERM
ENTRYPOINT ["fieldnotes"]
CMD ["run"]
