#!/usr/bin/env bash
# Renders every overlay of k8s/ with `kubectl kustomize`, validates every object against the
# Kubernetes schemas (kubernetes-models, pinned in package-lock.json) and checks the suite's
# policies (validate.mjs). Then proves the checks bite: broken copies of the rendered dev overlay
# (an image on "latest", a ClusterIP Service in front of a service, a Deployment without probes,
# a missing PodDisruptionBudget, a root container) must each be refused.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(cd "$here/../.." && pwd)
cd "$here"

if ! command -v kubectl >/dev/null 2>&1; then
  echo "k8s: kubectl is missing: deploy/install-deps.sh installs Debian's kubernetes-client" >&2
  exit 1
fi
if [[ ! -d node_modules/kubernetes-models || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# Debian 12's kubectl (1.20) embeds kustomize v2, which knows neither directories under
# "resources" nor "patches", "labels", "replicas" or "components"; a newer kubectl on this machine
# would render them, so they are refused here.
for kustomization in "$checkout"/k8s/base/kustomization.yaml "$checkout"/k8s/overlays/*/kustomization.yaml; do
  if grep -nE '^(patches|labels|replicas|components):' "$kustomization"; then
    echo "k8s: FAIL $kustomization uses a field kustomize v2 (Debian's kubectl) does not know" >&2
    exit 1
  fi
  dir=$(dirname "$kustomization")
  for entry in $(awk '/^resources:/ {on = 1; next} /^[a-zA-Z]/ {on = 0} on && /^  - / {print $2}' "$kustomization"); do
    if [[ -d $dir/$entry ]]; then
      echo "k8s: FAIL $kustomization lists the directory $entry under resources (kustomize v2: bases)" >&2
      exit 1
    fi
  done
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "k8s: $(kubectl version --client 2>/dev/null | head -n 1)"

for overlay in dev prod; do
  # Deprecation notes of newer kustomize versions (the manifests also serve kustomize v2) are
  # kept out of the output.
  kubectl kustomize "$checkout/k8s/overlays/$overlay" >"$work/$overlay.yaml" 2>"$work/$overlay.err" || {
    cat "$work/$overlay.err" >&2
    echo "k8s: FAIL kubectl kustomize k8s/overlays/$overlay" >&2
    exit 1
  }
  node validate.mjs --overlay "$overlay" "$work/$overlay.yaml"
done

# The checks must refuse broken manifests.
refuse() { # refuse DESCRIPTION REASON: $work/broken.yaml must fail, with REASON among the errors
  if node validate.mjs --overlay dev "$work/broken.yaml" >"$work/broken.out" 2>&1; then
    echo "k8s: FAIL the checks accepted $1" >&2
    exit 1
  fi
  if ! grep -F -- "$2" "$work/broken.out" >"$work/reason"; then
    cat "$work/broken.out" >&2
    echo "k8s: FAIL $1 was refused, but not for \"$2\"" >&2
    exit 1
  fi
  echo "k8s: refused as expected: $1 ($(head -n 1 "$work/reason" | sed 's/^dev: FAIL //'))"
}
sed 's#contactcentre/cc-calls:0.1.0#contactcentre/cc-calls:latest#' "$work/dev.yaml" >"$work/broken.yaml"
refuse "an image tagged latest" "uses latest"
awk '/^kind: Service$/ {svc=1} /^---/ {svc=0} svc && /clusterIP: None/ {sub(/None/, "10.0.0.10")} {print}' \
  "$work/dev.yaml" >"$work/broken.yaml"
refuse "a ClusterIP Service in front of a suite service" "must be headless"
sed '0,/readinessProbe:/s//readinessProbeRemoved:/' "$work/dev.yaml" >"$work/broken.yaml"
refuse "a Deployment without a readiness probe" "has no readinessProbe"
awk 'BEGIN {RS="\n---\n"; ORS="\n---\n"} !/kind: PodDisruptionBudget/ || !/name: cc-knowledge/' \
  "$work/dev.yaml" >"$work/broken.yaml"
refuse "a Deployment without a PodDisruptionBudget" "cc-knowledge: needs exactly one PodDisruptionBudget"
sed 's/runAsNonRoot: true/runAsNonRoot: false/' "$work/dev.yaml" >"$work/broken.yaml"
refuse "pods allowed to run as root" "runAsNonRoot: true"
sed 's/containerPort: 50051/containerPort: "50051"/' "$work/dev.yaml" >"$work/broken.yaml"
refuse "a field of the wrong type (schema)" "must be integer"
echo "k8s: every overlay renders, validates and passes the policy checks"
