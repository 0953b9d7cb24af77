using System.Net;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>A gateway started without an admin key: admin endpoints say how to configure one; no dashboard.</summary>
public sealed class NoAdminKeyTests
{
    [Fact]
    public async Task Admin_endpoints_answer_401_saying_how_to_configure_the_key()
    {
        var gateway = new ApiGateway(withAdminKey: false);
        await gateway.InitializeAsync();
        try
        {
            using var response = await gateway.SendAsync(HttpMethod.Get, "/api/v1/tenants", ApiGateway.AdminKey);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var detail = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("detail").GetString();
            Assert.Contains("OGW_ADMIN_KEY", detail);
            Assert.Contains("--admin-key-file", detail);

            // Without the key nobody may open the dashboard, so it is not served at all.
            Assert.Equal(HttpStatusCode.NotFound, (await gateway.Http.GetAsync("/dashboard/", TestContext.Current.CancellationToken)).StatusCode);
        }
        finally
        {
            await gateway.DisposeAsync();
        }
    }
}
