#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller from Go modules (the wrappers in
# tools/flux/) into a versioned, cached directory, and writes Flux's CRDs there, read from the
# same modules' config/crd/bases in the Go module cache. Also builds `sops` and `age-keygen` from
# the kustomize-controller wrapper, so they are exactly the sops and age Flux decrypts with (one
# version, pinned by that go.mod). Opt-in (`make tools-flux`): only the `flux` cluster tests need
# it. A binary already present is kept, so a second run is a no-op.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mod_version() { # mod_version WRAPPER_DIR MODULE -> the version the wrapper's go.mod requires
  sed -nE "s#^require $2 (v[^ ]+)\$#\1#p" "$here/flux/$1/go.mod"
}
SOURCE_VERSION=$(mod_version source-controller github.com/fluxcd/source-controller)
KUSTOMIZE_VERSION=$(mod_version kustomize-controller github.com/fluxcd/kustomize-controller)
key="flux_source-${SOURCE_VERSION}_kustomize-${KUSTOMIZE_VERSION}"
dir="${KFDEPLOY_FLUX_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kfdeploy/tools/$key}"
bin="$dir/bin"

if ! command -v go >/dev/null 2>&1; then
  echo "error: the Go toolchain (>= 1.25) is needed to build Flux's controllers." >&2
  exit 1
fi
mkdir -p "$bin" "$dir/crds"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath"
start_all=$(date +%s)

build() { # build NAME MODULE [WRAPPER]: the wrapper's go.mod pins the version (default: NAME)
  local name=$1 module=$2 wrapper=${3:-$1}
  if [ -x "$bin/$name" ]; then echo "  $name: cached"; return; fi
  local t0; t0=$(date +%s)
  echo "  $name: building $module ..."
  if ! (cd "$here/flux/$wrapper" && go build -ldflags "-s -w" -o "$bin/$name.tmp" "$module"); then
    echo "error: building $name ($module) failed; see the go output above." >&2
    echo "       The version comes from tools/flux/$wrapper/go.mod; a download error usually" >&2
    echo "       means GOPROXY (now: $(go env GOPROXY)) is unreachable." >&2
    rm -f "$bin/$name.tmp"; exit 1
  fi
  mv "$bin/$name.tmp" "$bin/$name"
  echo "  $name: built in $(( $(date +%s) - t0 ))s"
}

crds() { # crds NAME MODULE: copy the module's config/crd/bases into crds/NAME/
  local name=$1 module=$2 moddir
  moddir=$(cd "$here/flux/$name" && go list -m -f '{{.Dir}}' "$module")
  if [ -z "$moddir" ] || [ ! -d "$moddir/config/crd/bases" ]; then
    echo "error: $module has no config/crd/bases in the module cache ($moddir)." >&2; exit 1
  fi
  rm -rf "$dir/crds/$name"; mkdir -p "$dir/crds/$name"
  cp "$moddir"/config/crd/bases/*.yaml "$dir/crds/$name/"
  chmod u+w "$dir/crds/$name"/*.yaml
}

echo "kfdeploy flux tools -> $dir"
build source-controller github.com/fluxcd/source-controller
build kustomize-controller github.com/fluxcd/kustomize-controller
build sops github.com/getsops/sops/v3/cmd/sops kustomize-controller
build age-keygen filippo.io/age/cmd/age-keygen kustomize-controller
crds source-controller github.com/fluxcd/source-controller
crds kustomize-controller github.com/fluxcd/kustomize-controller
echo "kfdeploy flux tools ready in $(( $(date +%s) - start_all ))s: $dir"
