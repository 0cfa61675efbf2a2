# syntax=docker/dockerfile:1
#
# The etcd-snapshot-driver image: the driver (`etcd-snapshot-driver [flags]`) and the agent its
# snapshot Jobs run (`etcd-snapshot-driver agent save|verify|delete …`) are one program, so one
# image serves the Deployment and the Jobs.
#
#   npm run build is done inside; from a clean checkout:
#   docker build -t etcd-snapshot-driver:dev .
#
# Facts test/unit/deploy/dockerfile.test.ts checks: NODE_VERSION equals package.json's `node`
# devDependency (the Node every test ran on), ETCD_VERSION equals the etcd pinned in
# hack/tools/etcd/go.mod, the runtime USER is 65532 (non-root), the ENTRYPOINT is the CLI.
# Runs with a read-only root file system: nothing is written outside mounted volumes (the
# Deployment mounts an emptyDir at /tmp; Jobs write only to the snapshot claim).

ARG NODE_VERSION=24.21.0
ARG ETCD_VERSION=v3.6.16

# etcdutl for offline checks of backup files (`etcdutl snapshot status`, restore), taken from
# the official etcd image of the pinned version (distroless; binaries in /usr/local/bin).
FROM gcr.io/etcd-development/etcd:${ETCD_VERSION} AS etcd

# Build: compile src/ to dist/ with the project's TypeScript (npm run build).
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency would otherwise install a second Node; the image's
# Node is the same version.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# npm run build = tsc, then hack/copy-build-assets.ts copies the files the driver reads at run
# time beside its modules (the .proto files of the CSI and etcd APIs) into dist/.
COPY hack/copy-build-assets.ts ./hack/
COPY src ./src
RUN npm run build

# Production dependencies only, without scripts (none of them needs one).
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# Runtime: Node, the compiled driver, its production node_modules, etcdutl.
FROM node:${NODE_VERSION}-bookworm-slim
ARG ETCD_VERSION
LABEL org.opencontainers.image.title="etcd-snapshot-driver" \
      org.opencontainers.image.description="CSI driver and controller for etcd snapshots; also the snapshot Jobs' agent" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.etcd.version="${ETCD_VERSION}"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY --from=etcd /usr/local/bin/etcdutl /usr/local/bin/etcdutl
# The CLI name both the Deployment and the Jobs run (what the process kubelet's image table maps
# for local clusters: test/harness/kubelet/image-table.ts).
COPY --chmod=0755 <<'LAUNCHER' /usr/local/bin/etcd-snapshot-driver
#!/bin/sh
exec node /app/dist/main.js "$@"
LAUNCHER
# 65532: the "nonroot" user of distroless images; the manifests set the same runAsUser.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/etcd-snapshot-driver"]
