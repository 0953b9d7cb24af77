#!/usr/bin/env bash
# Prints the path of the Bicep CLI, restoring it on first use from the NuGet package Azure.Bicep.CommandLine.linux-x64
# (the only way to get it offline here) into .tmp/bicep. Exit code 3 when it cannot be obtained (no NuGet feed, not
# linux-x64): callers skip with that reason. Used by tools/check-infra.sh and tests/OrleansGateway.Infra.Tests.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
version=0.49.2
dir="$repo/.tmp/bicep"
bicep="$dir/packages/azure.bicep.commandline.linux-x64/$version/tools/bicep"

if [ ! -x "$bicep" ]; then
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "bicep: the NuGet package Azure.Bicep.CommandLine.linux-x64 runs on linux-x64 only, not $(uname -s)-$(uname -m)" >&2
    exit 3
  fi

  # A throwaway project that only downloads the package. Its own empty Directory.*.props stop MSBuild from
  # picking up the repository's (central package versions, warnings as errors).
  mkdir -p "$dir/restore"
  echo '<Project />' >"$dir/restore/Directory.Build.props"
  echo '<Project />' >"$dir/restore/Directory.Packages.props"
  cat >"$dir/restore/restore.csproj" <<PROJECT
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="Azure.Bicep.CommandLine.linux-x64" Version="[$version]" />
  </ItemGroup>
</Project>
PROJECT
  if ! dotnet restore "$dir/restore/restore.csproj" --packages "$dir/packages" -v q >"$dir/restore.log" 2>&1; then
    echo "bicep: cannot restore Azure.Bicep.CommandLine.linux-x64 $version from NuGet (log: $dir/restore.log)" >&2
    exit 3
  fi

  chmod +x "$bicep"
fi

echo "$bicep"
