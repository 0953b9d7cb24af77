using Microsoft.OpenApi;

namespace OrleansGateway.Api;

internal static class OpenApiBodies
{
    /// <summary>
    /// Documents the request body in the OpenAPI document only. <c>Accepts()</c> would also make routing refuse other
    /// content types with a bare 415 before the handler, which must answer a problem naming the accepted types.
    /// </summary>
    public static RouteHandlerBuilder Body<T>(this RouteHandlerBuilder builder, params string[] contentTypes) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken);
            operation.RequestBody = new OpenApiRequestBody
            {
                Content = contentTypes.ToDictionary(t => t, _ => new OpenApiMediaType { Schema = schema }),
            };
        });
}
