//go:build tools

// Package tools pins the etcd main package (the module root of
// go.etcd.io/etcd/server/v3) built by dev/binaries.ts.
package tools

import _ "go.etcd.io/etcd/server/v3"
