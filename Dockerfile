# syntax=docker/dockerfile:1
#
# The production image: one static binary, cmd/refundflow, whose subcommands
# (api, worker, migrate up, temporal setup, keys ...) docker-compose.yml runs.
# It is configured only by environment variables (config/config.go).

# ---- build -----------------------------------------------------------------
# Same Go as go.mod's `go` line; GOTOOLCHAIN=local so a mismatch fails here
# instead of silently downloading another toolchain.
FROM golang:1.26.8-bookworm AS build
ENV CGO_ENABLED=0 \
    GOTOOLCHAIN=local \
    GOFLAGS=-buildvcs=false
WORKDIR /src

# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# SPEC 3: the production binary must not link the Temporal server (that is
# the dev stack's job); refuse to build an image that does.
RUN go list -deps ./cmd/refundflow > /tmp/deps \
    && if grep -q '^go.temporal.io/server' /tmp/deps; then \
         echo 'cmd/refundflow links go.temporal.io/server' >&2; exit 1; \
       fi
RUN --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/refundflow ./cmd/refundflow

# ---- runtime ---------------------------------------------------------------
# debian-slim rather than distroless: compose health-checks the API with curl
# against /readyz (distroless has no curl or shell), and an operator can
# `docker compose exec api sh`. ca-certificates is needed for Stripe and SMTP
# over TLS; time zone data is compiled into the binary (time/tzdata).
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 refundflow \
    && useradd --system --uid 10001 --gid refundflow --no-create-home \
         --home-dir /nonexistent --shell /usr/sbin/nologin refundflow
COPY --from=build /out/refundflow /refundflow
# Inside a container the API must listen on all interfaces (the product's
# default, 127.0.0.1:8080, is for a developer machine).
ENV HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
USER 10001:10001
ENTRYPOINT ["/refundflow"]
