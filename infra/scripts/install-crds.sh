#!/bin/sh
# azd's predeploy hook of the gateway service (azure.yaml), run with the kube context azd has just set: installs
# the getambassador.io CRDs of infra/k8s/crds where the cluster has no CRD of that name, updates the ones it
# installed before (label app.kubernetes.io/part-of=orleans-gateway), and leaves any other, Emissary's own, alone.
# The gateway reads getambassador.io/v3alpha1, so a CRD left alone must serve that version.
set -eu
dir="$(cd "$(dirname "$0")/../k8s/crds" && pwd)"

for file in "$dir"/*.yaml; do
  name=$(sed -n 's/^  name: \(.*\)$/\1/p' "$file" | head -n 1)
  if [ -z "$(kubectl get crd "$name" --ignore-not-found -o name)" ]; then
    echo "install-crds: $name is absent: installing it from $(basename "$file")"
    kubectl apply -f "$file"
    continue
  fi

  owner=$(kubectl get crd "$name" -o 'jsonpath={.metadata.labels.app\.kubernetes\.io/part-of}')
  if [ "$owner" = "orleans-gateway" ]; then
    kubectl apply -f "$file"
    continue
  fi

  served=$(kubectl get crd "$name" -o 'jsonpath={.spec.versions[?(@.name=="v3alpha1")].served}')
  if [ "$served" != "true" ]; then
    echo "install-crds: $name exists (not installed by this gateway) but does not serve getambassador.io/v3alpha1," >&2
    echo "  which the gateway reads: upgrade Emissary's CRDs to a version that serves it, then run azd deploy again." >&2
    exit 1
  fi
  echo "install-crds: keeping $name: installed by someone else (Emissary?), serves v3alpha1"
done
