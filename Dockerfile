# The gateway's container image (docs/deploy.md). Stage 1: the .NET SDK image restores and publishes
# src/OrleansGateway.Silo. Stage 2: the ASP.NET Core runtime image runs the published output, as a non-root user.
# azd builds it for the `gateway` service of azure.yaml; tools/check-publish-run.sh runs the same publish output
# with the same entry point and the environment of infra/k8s/gateway, where no container engine is available.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/ src/
RUN dotnet restore src/OrleansGateway.Silo/OrleansGateway.Silo.csproj
RUN dotnet publish src/OrleansGateway.Silo/OrleansGateway.Silo.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./

# The runtime image sets ASPNETCORE_HTTP_PORTS=8080; the gateway listens where --api-url says, so the variable is
# cleared rather than left to disagree with it.
ENV ASPNETCORE_HTTP_PORTS=

# 8080: the HTTP endpoints (--api-url http://0.0.0.0:8080: /healthz, /readyz, /metrics, /status, /api/v1, /dashboard).
# 11111: silo-to-silo traffic (--silo-port). 30000: Orleans clients (--gateway-port).
# Tenant listener ports are not known at build time: edge silos open them as tenants bind them.
EXPOSE 8080 11111 30000

# The .NET images' non-root user "app", by number: Kubernetes can verify runAsNonRoot only for a numeric user.
USER 1654

# No HEALTHCHECK: Kubernetes ignores it; the Deployments probe /healthz and /readyz instead.
ENTRYPOINT ["dotnet", "OrleansGateway.Silo.dll"]
