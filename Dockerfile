# syntax=docker/dockerfile:1
# zohosink image: the `consumer` worker and the `zohosim` Zoho CRM simulator,
# static binaries on distroless, running as a non-root user.
#
#   docker build -t zohosink:local .
#   docker run --rm zohosink:local --help
#   docker run --rm --entrypoint /usr/local/bin/zohosim zohosink:local --help

FROM golang:1.26 AS build
WORKDIR /src
# Modules first: this layer is reused while go.mod and go.sum do not change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ENV CGO_ENABLED=0 GOOS=linux
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/consumer ./cmd/consumer && \
    go build -trimpath -ldflags="-s -w" -o /out/zohosim ./cmd/zohosim

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/consumer /out/zohosim /usr/local/bin/
USER nonroot:nonroot
# 9464: /metrics, /healthz, /readyz of `consumer run` (set http.listen to 0.0.0.0:9464 in a container).
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/consumer"]
CMD ["run", "--config", "/etc/zohosink/config.yaml"]
