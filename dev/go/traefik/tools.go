//go:build tools

// Package tools pins Traefik's main package built by dev/binaries.ts.
package tools

import _ "github.com/traefik/traefik/v3/cmd/traefik"
