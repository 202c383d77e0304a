//go:build tools

// Package tools pins the main packages built by tests/kind/binaries.ts.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
