#!/usr/bin/env bash
# Runs the e2e suite against a kind cluster with the driver deployed from deploy/ — for users and
# contributors who have Docker (the project's own CI uses the local cluster of test/harness, which
# needs no container runtime).
#
#   hack/kind-e2e.sh                    create a kind cluster, install the external-snapshotter
#                                       CRDs and snapshot-controller at the pinned version, build
#                                       and load the image, deploy deploy/overlays/$OVERLAY (or
#                                       deploy/base), run the e2e suite, delete the cluster
#
# Needs: docker, kind, kubectl (≥ 1.27, for its built-in kustomize), the project's npm ci done.
#
# Environment:
#   CLUSTER_NAME   kind cluster name (default etcd-snapshot-driver-e2e); reused when it exists
#   OVERLAY        base | ha | monitoring (default ha: 3 replicas with 6 buckets)
#   IMAGE          the driver image to build and load (default: the one deploy/base names, so
#                  the manifests and --agent-image need no change)
#   KEEP_CLUSTER   1 keeps the cluster afterwards (default: deleted, also on failure)
#   KIND_NODE_IMAGE  kindest/node image (default: kind's own default)
#   E2E_ARGS       extra arguments for vitest (e.g. a file or -t pattern)
#
# The e2e suite learns that it must use this cluster, with the driver already deployed, from
# ETCD_SNAPSHOT_DRIVER_E2E_KUBECONFIG (a kubeconfig path; docs/install.md, "Running the e2e
# suite on your own cluster"): the harness then starts no cluster, and the checks and files that
# need the process kubelet's host access are left out, each with a printed line. The etcd
# fixtures are reached at their pod IPs from this machine, which kind does not route by itself.
# Exit status is the suite's.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER_NAME=${CLUSTER_NAME:-etcd-snapshot-driver-e2e}
OVERLAY=${OVERLAY:-ha}
IMAGE=${IMAGE:-ghcr.io/etcd-snapshot-driver/etcd-snapshot-driver:0.1.0}
KEEP_CLUSTER=${KEEP_CLUSTER:-0}
KIND_NODE_IMAGE=${KIND_NODE_IMAGE:-}
E2E_ARGS=${E2E_ARGS:-}

log() { printf '[kind-e2e] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for program in docker kind kubectl; do
  command -v "$program" >/dev/null || die "$program is not on PATH"
done

# The external-snapshotter version the project pins (hack/tools/snapshotter/go.mod), so kind runs
# the CRDs and snapshot-controller the local-cluster tests run.
snapshotter_version=$(awk '$1 == "github.com/kubernetes-csi/external-snapshotter/v8" { print $2; exit }' \
  "$root/hack/tools/snapshotter/go.mod")
[[ -n $snapshotter_version ]] || die "no external-snapshotter pin in hack/tools/snapshotter/go.mod"
snapshotter_repo=https://github.com/kubernetes-csi/external-snapshotter

case $OVERLAY in
  base) manifests=$root/deploy/base ;;
  ha | monitoring) manifests=$root/deploy/overlays/$OVERLAY ;;
  *) die "OVERLAY must be base, ha or monitoring, got \"$OVERLAY\"" ;;
esac

work=$(mktemp -d)
kubeconfig=$work/kubeconfig
created=0
cleanup() {
  local status=$?
  if [[ $created == 1 && $KEEP_CLUSTER != 1 ]]; then
    log "deleting kind cluster $CLUSTER_NAME"
    kind delete cluster --name "$CLUSTER_NAME" >/dev/null 2>&1 || true
  elif [[ $KEEP_CLUSTER == 1 ]]; then
    log "kept kind cluster $CLUSTER_NAME (kubeconfig: kind get kubeconfig --name $CLUSTER_NAME)"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  log "reusing kind cluster $CLUSTER_NAME"
else
  log "creating kind cluster $CLUSTER_NAME"
  node_image_args=()
  [[ -n $KIND_NODE_IMAGE ]] && node_image_args=(--image "$KIND_NODE_IMAGE")
  kind create cluster --name "$CLUSTER_NAME" --wait 180s "${node_image_args[@]}"
  created=1
fi
kind get kubeconfig --name "$CLUSTER_NAME" >"$kubeconfig"
export KUBECONFIG=$kubeconfig

log "installing the snapshot CRDs and snapshot-controller $snapshotter_version"
kubectl kustomize "$snapshotter_repo/client/config/crd?ref=$snapshotter_version" |
  kubectl apply --server-side -f -
kubectl wait --for=condition=Established crd --all --timeout=120s
kubectl -n kube-system kustomize "$snapshotter_repo/deploy/kubernetes/snapshot-controller?ref=$snapshotter_version" |
  kubectl apply --server-side -f -
# The release's own manifest may name the previous image tag; run the pinned one.
kubectl -n kube-system set image deployment/snapshot-controller \
  "snapshot-controller=registry.k8s.io/sig-storage/snapshot-controller:$snapshotter_version"
kubectl -n kube-system rollout status deployment/snapshot-controller --timeout=300s

log "building $IMAGE"
docker build -t "$IMAGE" "$root"
kind load docker-image "$IMAGE" --name "$CLUSTER_NAME"

log "deploying ${manifests#"$root"/}"
kubectl apply --server-side -k "$manifests"
if [[ $IMAGE != "ghcr.io/etcd-snapshot-driver/etcd-snapshot-driver:0.1.0" ]]; then
  # The image and --agent-image must name the same image (docs/configuration.md).
  kubectl -n etcd-snapshot-driver set image deployment/etcd-snapshot-driver "driver=$IMAGE"
  kubectl -n etcd-snapshot-driver patch deployment etcd-snapshot-driver --type=json -p \
    "[{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/args/5\",\"value\":\"--agent-image=$IMAGE\"}]"
fi
kubectl -n etcd-snapshot-driver rollout status deployment/etcd-snapshot-driver --timeout=300s

log "running the e2e suite"
cd "$root"
export PATH=$root/node_modules/.bin:$PATH
# shellcheck disable=SC2086 # E2E_ARGS is a list of words on purpose.
ETCD_SNAPSHOT_DRIVER_E2E_KUBECONFIG=$kubeconfig vitest run --project e2e $E2E_ARGS
