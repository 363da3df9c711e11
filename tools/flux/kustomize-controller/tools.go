//go:build tools

// Package tools pins Flux's kustomize-controller so `go mod tidy` keeps its dependencies, and
// the sops and age-keygen commands of the sops and age versions it decrypts with.
package tools

import (
	_ "filippo.io/age/cmd/age-keygen"
	_ "github.com/fluxcd/kustomize-controller"
	_ "github.com/getsops/sops/v3/cmd/sops"
)
