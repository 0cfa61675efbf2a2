#!/usr/bin/env bash
# Runs the real csi-sanity (kubernetes-csi/csi-test, pinned in hack/tools/csi-test) against the
# driver's CSI server and a local cluster with a real etcd.
#
#   hack/csi-sanity.sh                               starts a local cluster, the driver's CRDs, the
#                                                    3-member etcd fixture and the CSI server
#                                                    (test/integration/csi/sanity-env.ts), runs
#                                                    csi-sanity, tears everything down
#   CSI_ENDPOINT=unix:///path hack/csi-sanity.sh     runs against a driver that already serves
#
# Environment:
#   FOCUS           ginkgo focus (default: the specs the CSI issue names)
#   SKIP            ginkgo skip (default: the one focused spec that cannot pass here — it waits
#                   for ready_to_use, which needs the snapshot pipeline, and then creates a
#                   volume from the snapshot without a claim, which the restore door refuses;
#                   see docs/csi.md, "csi-sanity")
#   ETCD_CLUSTER    the etcd cluster the test volumes stand for (default main, the fixture)
#   ETCD_NAMESPACE  its namespace (default etcd)
#   JUNIT           where to write the JUnit report (default: a temporary file, removed)
#
# Test volumes are made without a claim, so their parameters name the etcd cluster:
# etcd-cluster-name and etcd-namespace (docs/csi.md, "Volumes"). Exit status is csi-sanity's.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FOCUS=${FOCUS:-'Identity Service|Controller Service|GroupController'}
ETCD_CLUSTER=${ETCD_CLUSTER:-main}
ETCD_NAMESPACE=${ETCD_NAMESPACE:-etcd}
SKIP=${SKIP-'should create volume from an existing source snapshot'}

log() { printf '[csi-sanity] %s\n' "$*" >&2; }

bash "$root/hack/tools/build.sh" csi-test >&2
sanity="$(bash "$root/hack/tools/build.sh" --print-dir)/csi-sanity"

work=$(mktemp -d)
env_pid=
cleanup() {
  if [[ -n $env_pid ]] && kill -0 "$env_pid" 2>/dev/null; then
    log "stopping the local environment"
    kill -TERM "$env_pid" 2>/dev/null || true
    wait "$env_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -z ${CSI_ENDPOINT:-} ]]; then
  node="$root/node_modules/.bin/node"
  [[ -x $node ]] || node=node
  log "starting a local cluster, the etcd fixture and the CSI server (minutes on a cold machine) …"
  "$node" "$root/test/integration/csi/sanity-env.ts" "$work/csi.sock" >"$work/env.log" 2>&1 &
  env_pid=$!
  for ((i = 0; i < 1800; i++)); do
    grep -q '^READY ' "$work/env.log" && break
    if ! kill -0 "$env_pid" 2>/dev/null; then
      cat "$work/env.log" >&2
      log "the local environment failed to start"
      exit 1
    fi
    sleep 0.5
  done
  grep -q '^READY ' "$work/env.log" || { cat "$work/env.log" >&2; log "timed out starting"; exit 1; }
  CSI_ENDPOINT="unix://$work/csi.sock"
fi

cat >"$work/volume-parameters.yaml" <<YAML
etcd-cluster-name: "$ETCD_CLUSTER"
etcd-namespace: "$ETCD_NAMESPACE"
YAML

log "csi-sanity against $CSI_ENDPOINT, focus: $FOCUS"
args=(
  --csi.endpoint="$CSI_ENDPOINT"
  --csi.testvolumeparameters="$work/volume-parameters.yaml"
  --csi.testvolumesize=$((1024 * 1024 * 1024))
  # The driver mounts nothing, but csi-sanity makes these directories before every spec.
  --csi.mountdir="$work/mount"
  --csi.stagingdir="$work/staging"
  --ginkgo.focus="$FOCUS"
  --ginkgo.junit-report="${JUNIT:-$work/junit.xml}"
  --ginkgo.no-color
)
[[ -n ${SKIP:-} ]] && args+=(--ginkgo.skip="$SKIP")
status=0
"$sanity" "${args[@]}" || status=$?
exit "$status"
