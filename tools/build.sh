#!/usr/bin/env bash
# Builds the local control plane (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, etcd, kwok, kwokctl), helm, and the kustomize versions the supported Kubeflow manifests
# releases pin (tools/kustomize.env, as bin/kustomize-<version>) from Go modules into a
# versioned, cached directory.
# A binary already present is kept, so a second run is a quick no-op.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
key="kube-${KUBE_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_helm-${HELM_VERSION}"
bin="${KFDEPLOY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kfdeploy/tools/$key}/bin"

if ! command -v go >/dev/null 2>&1; then
  echo "error: the Go toolchain (>= 1.26) is needed to build the local control plane." >&2
  echo "       Install Go, or point KFDEPLOY_TOOLS_DIR at a directory whose bin/ holds the binaries." >&2
  exit 1
fi
# Kubernetes 1.36 and etcd 3.6 modules declare `go 1.26`; an older toolchain fails deep in the
# build with a confusing message, so say it up front.
gover=$(go env GOVERSION 2>/dev/null | sed -E 's/^go([0-9]+)\.([0-9]+).*/\1 \2/')
read -r gomajor gominor <<<"${gover:-0 0}"
if [ "${gomajor:-0}" -lt 1 ] || { [ "$gomajor" -eq 1 ] && [ "${gominor:-0}" -lt 26 ]; }; then
  echo "error: Go >= 1.26 is needed to build Kubernetes ${KUBE_VERSION}; found $(go env GOVERSION)." >&2
  echo "       Install a newer Go (https://go.dev/dl/), or set GOTOOLCHAIN=go1.26.0 to let go fetch it." >&2
  exit 1
fi
mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath"
start_all=$(date +%s)

build() { # build NAME DIR PACKAGE [go build flags...]
  local name=$1 dir=$2 pkg=$3; shift 3
  if [ -x "$bin/$name" ]; then echo "  $name: cached"; return; fi
  local t0; t0=$(date +%s)
  echo "  $name: building $pkg ..."
  if ! (cd "$dir" && go build "$@" -o "$bin/$name.tmp" "$pkg"); then
    echo "error: building $name ($pkg) failed; see the go output above." >&2
    echo "       Versions come from tools/versions.env and tools/$(basename "$dir")/go.mod;" >&2
    echo "       a download error usually means GOPROXY (now: $(go env GOPROXY)) is unreachable." >&2
    rm -f "$bin/$name.tmp"; exit 1
  fi
  mv "$bin/$name.tmp" "$bin/$name"
  echo "  $name: built in $(( $(date +%s) - t0 ))s"
}

install_mod() { # install_mod NAME MODULE_PACKAGE@VERSION
  local name=$1 spec=$2
  if [ -x "$bin/$name" ]; then echo "  $name: cached"; return; fi
  local t0; t0=$(date +%s)
  echo "  $name: go install $spec ..."
  if ! GOBIN="$bin" go install "$spec"; then
    echo "error: go install $spec failed; see above." >&2
    echo "       Pin another release in tools/versions.env if this one does not build with" >&2
    echo "       $(go env GOVERSION), or check that GOPROXY ($(go env GOPROXY)) is reachable." >&2
    exit 1
  fi
  echo "  $name: built in $(( $(date +%s) - t0 ))s"
}

install_as() { # install_as NAME MODULE_PACKAGE@VERSION: go install, binary renamed to NAME
  local name=$1 spec=$2
  if [ -x "$bin/$name" ]; then echo "  $name: cached"; return; fi
  local tmp; tmp=$(mktemp -d "$bin/.$name.XXXXXX")
  bin="$tmp" install_mod "$name" "$spec"
  mv "$tmp"/* "$bin/$name"  # the one binary go installed (named after the module's command)
  rmdir "$tmp"
}

stamp="-X k8s.io/component-base/version.gitVersion=${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=1"
stamp="$stamp -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)"
stamp="$stamp -X k8s.io/client-go/pkg/version.gitVersion=${KUBE_VERSION} -s -w"

echo "kfdeploy tools -> $bin"
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  build "$cmd" "$here/kube" "k8s.io/kubernetes/cmd/$cmd" -ldflags "$stamp"
done
build etcd "$here/etcd" . -ldflags "-s -w"
install_mod kwok "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
install_mod kwokctl "sigs.k8s.io/kwok/cmd/kwokctl@${KWOK_VERSION}"
install_mod helm "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
for v in $(grep -Ev '^[[:space:]]*(#|$)' "$here/kustomize.env" | cut -d= -f2 | sort -u); do
  install_as "kustomize-$v" "sigs.k8s.io/kustomize/kustomize/v5@$v"
done
echo "kfdeploy tools ready in $(( $(date +%s) - start_all ))s: $bin"
