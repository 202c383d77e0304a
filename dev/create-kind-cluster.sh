#!/usr/bin/env bash
# Creates the kind cluster the real-cluster tests use when KIND_CLUSTER is set:
#   dev/create-kind-cluster.sh x402        # then: KIND_CLUSTER=x402 npm run test:e2e
# Needs Docker and kind on PATH. The tests bring their own Traefik, chain, upstream,
# controller and verifier (as host processes), as they do on the embedded control plane.
set -euo pipefail
name="${1:-x402}"
mkdir -p /tmp/x402-kind/audit /tmp/x402-kind/policy
cp "$(dirname "$0")/audit-policy.yaml" /tmp/x402-kind/policy/policy.yaml
kind create cluster --name "$name" --config "$(dirname "$0")/kind-config.yaml" --wait 120s
echo "created kind cluster $name; run: KIND_CLUSTER=$name npm run test:e2e"
