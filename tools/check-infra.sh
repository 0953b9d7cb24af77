#!/usr/bin/env bash
# CI's check of the deployment files (docs/deploy.md, "What CI checks"); .ci/run calls it before the tests.
#  1. Every Bicep file under infra/ builds and lints with the Bicep CLI and prints no diagnostic at all: a warning
#     fails the check, and no bicepconfig.json may silence a rule.
#  2. tools/InfraCheck: azure.yaml against the fields azd reads, and what azd and AKS would do with the manifests
#     (template values, image, workload identity, service account and federated subject, probes, the LoadBalancer
#     Service and the right to patch it, RBAC, CRDs, the Dockerfile's numeric USER).
#  3. tools/check-publish-run.sh: the publish output runs with the core manifest's args and env in a pod-like network
#     namespace and answers /healthz over HTTPS on the pod's address (root needed for the namespace).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.tmp/check-infra
rm -rf "$out"
mkdir -p "$out"

bicep=$(tools/bicep.sh)
"$bicep" --version

failed=0
while IFS= read -r file; do
  if ! "$bicep" lint "$file" >"$out/lint.txt" 2>&1 || [ -s "$out/lint.txt" ]; then
    echo "check-infra: bicep lint $file:" >&2
    cat "$out/lint.txt" >&2
    failed=1
  fi
done < <(find infra -name '*.bicep' | sort)

if ! "$bicep" build infra/main.bicep --stdout >"$out/main.json" 2>"$out/build.txt" || [ -s "$out/build.txt" ]; then
  echo "check-infra: bicep build infra/main.bicep:" >&2
  cat "$out/build.txt" >&2
  exit 1
fi
[ "$failed" -eq 0 ] || exit 1
echo "check-infra: bicep build and lint of $(find infra -name '*.bicep' | wc -l) files: no diagnostics"

for script in infra/scripts/*.sh; do
  sh -n "$script"
done

dotnet build tools/InfraCheck -v q -nologo >"$out/infracheck-build.txt" 2>&1 || { cat "$out/infracheck-build.txt" >&2; exit 1; }
dotnet tools/InfraCheck/bin/Debug/net10.0/InfraCheck.dll . "$out/main.json"

tools/check-publish-run.sh
echo "check-infra: ok"
