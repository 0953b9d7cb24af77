using System.Collections.Immutable;
using System.Security.Claims;
using OrleansGateway.Certificates;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Api;

/// <summary>
/// A tenant's certificates (its own key or the admin key): docs/api.md "Certificates". Uploads go into Key Vault when
/// one is configured, else become a tenant Secret resource. Answers never carry key material.
/// </summary>
internal static class CertificateEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var tenant = api.MapGroup("/tenants/{tenant}").RequireAuthorization(ApiPolicies.Tenant).WithTags("certificates (tenant)");
        tenant.MapPost("/certificates", UploadAsync).WithName("UploadCertificate").Body<UploadCertificateRequest>(ApiBody.Json)
            .Produces<CertificateDto>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(422).ProducesProblem(503);
        tenant.MapGet("/certificates", ListAsync).WithName("ListCertificates").Produces<ImmutableArray<CertificateDto>>().ProducesProblem(404);
        tenant.MapGet("/certificates/{name}", GetAsync).WithName("GetCertificate").Produces<CertificateDto>().ProducesProblem(400).ProducesProblem(404);
        tenant.MapPost("/certificates/{name}/refresh", RefreshAsync).WithName("RefreshCertificate").Produces<CertificateDto>().ProducesProblem(400).ProducesProblem(404);
    }

    private static async Task<IResult> UploadAsync(string tenant, HttpContext context, IGrainFactory grains, ApiOptions settings, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadJsonAsync<UploadCertificateRequest>(context.Request, cancellationToken);
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        var request = body.Value!;
        if (string.IsNullOrWhiteSpace(request.Name) || (request.Pem is null) == (request.Pfx is null))
        {
            return ApiProblems.BadRequest("send {\"name\": \"web-tls\", \"pem\": \"-----BEGIN CERTIFICATE-----...\"} or {\"name\": ..., \"pfx\": \"<base64>\", \"password\": ...}: a name and exactly one of pem and pfx");
        }

        // The name becomes a Secret resource or a vault certificate: the resource name rules apply (docs/resource-model.md, "Names").
        if ((ResourceNames.NameProblem(request.Name) ?? ResourceNames.NamespaceProblem(request.Namespace ?? "default")) is { } nameProblem)
        {
            return ApiProblems.Problem(422, "Invalid certificate name", $"{nameProblem}; \"name\" and \"namespace\" name the certificate as a Secret's metadata does");
        }

        byte[] content;
        try
        {
            content = request.Pem is not null ? System.Text.Encoding.UTF8.GetBytes(request.Pem) : Convert.FromBase64String(request.Pfx!);
        }
        catch (FormatException)
        {
            return ApiProblems.BadRequest("\"pfx\" is not base64; send the PFX file's bytes base64-encoded");
        }

        if (!await ResourceEndpoints.ExistsAsync(tenant, grains))
        {
            return TenantEndpoints.NoTenant(tenant);
        }

        var secret = new SecretRef(request.Namespace ?? "default", request.Name) { Tenant = tenant };
        var upload = new CertificateUpload(content, request.Password);
        try
        {
            if (settings.HasCertificateSource)
            {
                await grains.GetCertificateGrain(secret).ImportAsync(upload);
                return await AnswerAsync(secret, grains);
            }

            return await StoreAsSecretAsync(secret, upload, grains);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            return ApiProblems.BadRequest(e.Message);
        }
        catch (InvalidOperationException e)
        {
            return ApiProblems.Problem(503, "Key Vault is not available", e.Message);
        }
    }

    /// <summary>Without a vault the certificate becomes a <c>kubernetes.io/tls</c> Secret resource of the tenant (source "api").</summary>
    private static async Task<IResult> StoreAsSecretAsync(SecretRef secret, CertificateUpload upload, IGrainFactory grains)
    {
        var material = CertificateFiles.ReadUpload(upload);
        if (CertificateFiles.Check(material, DateTimeOffset.UtcNow, out _) is { } problem)
        {
            return ApiProblems.BadRequest($"certificate {secret} refused: {problem}.");
        }

        var resource = new SecretResource
        {
            Namespace = secret.Namespace, Name = secret.Name, ApiVersion = "v1", Type = material.Type, TlsCrt = material.TlsCrt, TlsKey = material.TlsKey,
        };
        var outcome = await grains.GetTenantGrain(secret.Tenant).ApplyAsync(new ApplyRequest([resource], ApplyMode.Strict, ResourceEndpoints.Source));
        return outcome.Accepted
            ? await AnswerAsync(secret, grains)
            : ApiProblems.Refused($"the Secret {secret} was refused; see the diagnostics", ApiProblems.Reports(outcome.Diagnostics));
    }

    private static async Task<IResult> ListAsync(string tenant, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!await ResourceEndpoints.ExistsAsync(tenant, grains))
        {
            return TenantEndpoints.NoTenant(tenant);
        }

        var refs = await grains.GetTenantGrain(tenant).GetCertificatesAsync();
        var views = await Task.WhenAll(refs.OrderBy(r => r.Namespace, StringComparer.Ordinal).ThenBy(r => r.Name, StringComparer.Ordinal)
            .Select(async r => Dto(r, await grains.GetCertificateGrain(r).GetStatusAsync())));
        return Results.Json(views, ApiJson.Answers);
    }

    private static async Task<IResult> GetAsync(string tenant, string name, string? @namespace, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!await ResourceEndpoints.ExistsAsync(tenant, grains))
        {
            return TenantEndpoints.NoTenant(tenant);
        }

        return Reference(tenant, @namespace, name, out var problem) is { } secret ? await AnswerAsync(secret, grains) : problem!;
    }

    private static async Task<IResult> RefreshAsync(string tenant, string name, string? @namespace, ClaimsPrincipal user, IGrainFactory grains)
    {
        if (!await ResourceEndpoints.ExistsAsync(tenant, grains))
        {
            return TenantEndpoints.NoTenant(tenant);
        }

        if (Reference(tenant, @namespace, name, out var problem) is not { } secret)
        {
            return problem!;
        }

        var status = await grains.GetCertificateGrain(secret).RefreshAsync();
        return status.Source is null ? NoCertificate(secret) : Results.Json(Dto(secret, status), ApiJson.Answers);
    }

    /// <summary>The tenant's secret a request names, or (null and) a 400 saying why it cannot name a certificate, e.g. a '/' in it.</summary>
    private static SecretRef? Reference(string tenant, string? @namespace, string name, out IResult? problem)
    {
        var secret = new SecretRef(@namespace ?? "default", name) { Tenant = tenant };
        try
        {
            CertificateKey.For(secret);
            problem = null;
            return secret;
        }
        catch (ArgumentException e)
        {
            problem = ApiProblems.BadRequest($"no certificate can have that name: {e.Message}");
            return null;
        }
    }

    private static async Task<IResult> AnswerAsync(SecretRef secret, IGrainFactory grains)
    {
        var status = await grains.GetCertificateGrain(secret).GetStatusAsync();
        return status.Source is null ? NoCertificate(secret) : Results.Json(Dto(secret, status), ApiJson.Answers);
    }

    private static IResult NoCertificate(SecretRef secret) => ApiProblems.NotFound(
        $"tenant '{secret.Tenant}' has no certificate {secret}; upload one (POST .../certificates) or apply a Secret, and name it in a Host or TLSContext");

    private static CertificateDto Dto(SecretRef secret, CertificateStatus s) => new(
        secret.Namespace, secret.Name, s.Source, s.Location, s.SourceVersion, s.State.ToString(), s.Message,
        s.Serving?.Subject, s.Serving?.DnsNames ?? [], s.Serving?.NotBefore, s.Serving?.NotAfter, s.Serving?.Thumbprint, s.LastChecked);
}

/// <summary>An upload: PEM text (certificate, chain, unencrypted key) or a base64 PFX with its password.</summary>
internal sealed record UploadCertificateRequest(string? Name, string? Namespace, string? Pem, string? Pfx, string? Password)
{
    public override string ToString() => $"UploadCertificateRequest {{ Name = {Name}, Namespace = {Namespace}, content hidden }}";
}

/// <summary>A certificate as the API shows it: never its key.</summary>
/// <param name="Source"><c>secret</c> or <c>key-vault</c>.</param>
/// <param name="Location">The Key Vault certificate name (key-vault only).</param>
/// <param name="State">Pending, Ready, Refused, Unavailable or NotFound (docs/key-vault.md).</param>
internal sealed record CertificateDto(
    string Namespace,
    string Name,
    string? Source,
    string? Location,
    string? Version,
    string State,
    string? Message,
    string? Subject,
    ImmutableArray<string> DnsNames,
    DateTimeOffset? NotBefore,
    DateTimeOffset? NotAfter,
    string? Thumbprint,
    DateTimeOffset? LastChecked);
