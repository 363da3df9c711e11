//go:build tools

// Package tools pins Flux's source-controller so `go mod tidy` keeps its dependencies.
package tools

import _ "github.com/fluxcd/source-controller"
