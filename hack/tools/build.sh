#!/usr/bin/env bash
# Builds the real upstream components the local cluster, the e2e suites and the benchmarks run,
# from the Go modules pinned in hack/tools/<component>/go.mod, into a cache outside the clone.
#
#   hack/tools/build.sh                 build every component that is missing
#   hack/tools/build.sh etcd kubernetes build only these
#   hack/tools/build.sh --print-dir     print the cache's bin/ directory and exit
#
# Each component lands in $TOOLS_DIR/<component>-<version>-<key>/ where <key> hashes its go.mod,
# go.sum, its link flags, RECIPE and the Go version, so a pin change rebuilds and an unchanged pin
# never does.
# $TOOLS_DIR/bin/ holds links to the current build of every binary; the test harness reads it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS_DIR=${ETCD_SNAPSHOT_DRIVER_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-snapshot-driver/tools}
ALL_COMPONENTS=(etcd kubernetes snapshotter provisioner csi-test jaeger prometheus versitygw velero snapshotter-velero)
# Bump when what a build produces changes (flags, extras), to rebuild every cached component.
RECIPE=1

log() { printf '[tools] %s\n' "$*" >&2; }
die() { printf '[tools] error: %s\n' "$*" >&2; exit 1; }

if [[ ${1:-} == --print-dir ]]; then
  echo "$TOOLS_DIR/bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "Go is not installed or not on PATH. Install Go 1.26 or newer (https://go.dev/doc/install) and run this again."
# The pins need go 1.26; never let the go command fetch another toolchain behind our back.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
go_version=$(go env GOVERSION)
case $go_version in
  go1.2[6-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
  *) die "Go $go_version is too old: the pinned modules need go1.26 or newer." ;;
esac

mkdir -p "$TOOLS_DIR/bin"

module_version() { # <component dir> <module path>
  (cd "$1" && go list -m -f '{{.Version}}' "$2")
}
module_dir() { # <component dir> <module path>
  (cd "$1" && go list -m -f '{{.Dir}}' "$2")
}

# Prints the space-separated "<binary name>=<package>" pairs a component builds, and its version.
recipe() {
  case $1 in
    kubernetes)
      version=$(module_version "$here/kubernetes" k8s.io/kubernetes)
      binaries="kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler kubectl=k8s.io/kubernetes/cmd/kubectl"
      ;;
    etcd)
      version=$(module_version "$here/etcd" go.etcd.io/etcd/server/v3)
      binaries="etcd=go.etcd.io/etcd/server/v3 etcdctl=go.etcd.io/etcd/etcdctl/v3 etcdutl=go.etcd.io/etcd/etcdutl/v3"
      ;;
    snapshotter)
      version=$(module_version "$here/snapshotter" github.com/kubernetes-csi/external-snapshotter/v8)
      binaries="snapshot-controller=github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller csi-snapshotter=github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter"
      ;;
    snapshotter-velero)
      # Velero v1.18.3's own snapshot-controller release, for its group backups only
      # (hack/tools/snapshotter-velero/go.mod says why); its name keeps it apart from v8.7.0's.
      version=$(module_version "$here/snapshotter-velero" github.com/kubernetes-csi/external-snapshotter/v8)
      binaries="snapshot-controller-velero=github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller"
      ;;
    provisioner)
      version=$(module_version "$here/provisioner" github.com/kubernetes-csi/external-provisioner/v6)
      binaries="csi-provisioner=github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner"
      ;;
    csi-test)
      version=$(module_version "$here/csi-test" github.com/kubernetes-csi/csi-test/v5)
      binaries="csi-sanity=github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity"
      ;;
    jaeger)
      version=$(module_version "$here/jaeger" github.com/jaegertracing/jaeger)
      binaries="jaeger=github.com/jaegertracing/jaeger/cmd/jaeger"
      ;;
    prometheus)
      version=$(module_version "$here/prometheus" github.com/prometheus/prometheus)
      binaries="promtool=github.com/prometheus/prometheus/cmd/promtool"
      ;;
    versitygw)
      version=$(module_version "$here/versitygw" github.com/versity/versitygw)
      binaries="versitygw=github.com/versity/versitygw/cmd/versitygw"
      ;;
    velero)
      version=$(module_version "$here/velero" github.com/vmware-tanzu/velero)
      # The AWS object-store plugin is pinned in the same module: one dependency graph, so the
      # packages both link (client-go, the AWS SDK, Velero's plugin framework) compile once.
      binaries="velero=github.com/vmware-tanzu/velero/cmd/velero velero-plugin-for-aws=github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws"
      ;;
    *) die "unknown component '$1' (known: ${ALL_COMPONENTS[*]})" ;;
  esac
}

ldflags_for() { # <component> <version>
  local flags="-s -w" v=$2
  case $1 in
    kubernetes)
      # What hack/lib/version.sh of Kubernetes sets, so `--version` reports the pinned release.
      local major minor pkg
      major=${v#v}; major=${major%%.*}
      minor=${v#v*.}; minor=${minor%%.*}
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
      done
      ;;
    snapshotter | snapshotter-velero | provisioner) flags+=" -X main.version=$v" ;;
    jaeger)
      # v1.(63+k).0 and v2.k.0 tag the same commit: report the v2 version the binary is.
      local minor=${v#v1.}; minor=${minor%%.*}
      flags+=" -X github.com/jaegertracing/jaeger/internal/version.latestVersion=v2.$((minor - 63)).0"
      ;;
    prometheus)
      # Module v0.3xx.y is Prometheus v3.xx.y: report the release, as upstream's promu build does.
      local rest=${v#v0.3}
      flags+=" -X github.com/prometheus/common/version.Version=3.${rest:0:2}.${rest#*.}"
      ;;
    # What versitygw's Makefile sets, so `versitygw --version` reports the pinned release.
    versitygw) flags+=" -X main.Version=$v" ;;
    # What Velero's hack/build.sh sets, so `velero version --client-only` reports the pinned release.
    velero) flags+=" -X github.com/vmware-tanzu/velero/pkg/buildinfo.Version=$v -X github.com/vmware-tanzu/velero/pkg/buildinfo.GitTreeState=clean" ;;
  esac
  printf '%s' "$flags"
}

# Go build tags of a component: what its binary is built without.
tags_for() { # <component>
  case $1 in
    # promtool here only checks and unit-tests rules: without the cloud service discoveries
    # (Prometheus's plugins/ build tags) it compiles in a fraction of the time.
    prometheus) printf 'remove_all_sd' ;;
  esac
}

# Files that are not binaries but come from the same pinned modules.
copy_extras() { # <component> <out dir>
  case $1 in
    snapshotter)
      mkdir -p "$2/crds"
      cp "$(module_dir "$here/snapshotter" github.com/kubernetes-csi/external-snapshotter/client/v8)"/config/crd/*.storage.k8s.io_*.yaml "$2/crds/"
      chmod u+w "$2"/crds/*.yaml
      ;;
    csi-test)
      cp "$(module_dir "$here/csi-test" github.com/container-storage-interface/spec)/csi.proto" "$2/csi.proto"
      chmod u+w "$2/csi.proto"
      ;;
  esac
}

build_component() {
  local component=$1 version binaries key out
  [[ -f $here/$component/go.mod ]] || die "hack/tools/$component/go.mod is missing"
  if ! recipe "$component" 2>/tmp/etcd-snapshot-driver-tools-$$.err; then
    cat /tmp/etcd-snapshot-driver-tools-$$.err >&2
    die "could not resolve the $component pins: is the Go module proxy ($(go env GOPROXY)) reachable?"
  fi
  # Parallel test files and the background build of vitest's globalSetup may all ask at once: one
  # builder per component, so a file waiting for etcd is not held up by a Jaeger build.
  exec 9>"$TOOLS_DIR/.lock-$component"
  flock 9
  # Tags join the key only where a component has some, so adding them kept the other keys.
  local tags
  tags=$(tags_for "$component")
  key=$(cat "$here/$component/go.mod" "$here/$component/go.sum" <(echo "$go_version recipe $RECIPE $(ldflags_for "$component" "$version")${tags:+ tags $tags}") | sha256sum | cut -c1-12)
  out="$TOOLS_DIR/$component-$version-$key"
  if [[ -f $out/.complete ]]; then
    log "$component $version: cached in $out"
  else
    log "$component $version: building into $out (first time only; Kubernetes and Jaeger take minutes on 2 cores)"
    local started=$SECONDS tmp="$out.partial"
    rm -rf "$tmp"
    mkdir -p "$tmp/bin"
    local pair name pkg
    for pair in $binaries; do
      name=${pair%%=*} pkg=${pair#*=}
      log "  go build $name ($pkg)"
      (cd "$here/$component" && go build -trimpath -tags "$tags" -ldflags "$(ldflags_for "$component" "$version")" -o "$tmp/bin/$name" "$pkg") ||
        die "go build $pkg failed (above). If it could not download modules, is the Go module proxy ($(go env GOPROXY)) reachable?"
    done
    copy_extras "$component" "$tmp"
    echo "$version" >"$tmp/VERSION"
    touch "$tmp/.complete"
    rm -rf "$out"
    mv "$tmp" "$out"
    log "$component $version: built in $((SECONDS - started)) s"
    # Earlier pins of this component are dead weight now.
    local old
    # -v<digit>: `snapshotter-*` would match snapshotter-velero's builds too.
    for old in "$TOOLS_DIR/$component"-v[0-9]*; do
      [[ $old == "$out" || ! -d $old ]] || rm -rf "$old"
    done
  fi
  # Point the shared bin/ (and extras) at this build.
  local f
  for f in "$out"/bin/*; do ln -sfn "$f" "$TOOLS_DIR/bin/$(basename "$f")"; done
  [[ -d $out/crds ]] && ln -sfn "$out/crds" "$TOOLS_DIR/snapshot-crds"
  [[ -f $out/csi.proto ]] && ln -sfn "$out/csi.proto" "$TOOLS_DIR/csi.proto"
  exec 9>&-
  return 0
}

components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=("${ALL_COMPONENTS[@]}")
total_started=$SECONDS
for c in "${components[@]}"; do build_component "$c"; done
log "ready in $((SECONDS - total_started)) s: $TOOLS_DIR/bin"
