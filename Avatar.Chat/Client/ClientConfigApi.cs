namespace Avatar.Chat.Client;

/// <summary>
/// /config.json: where the browser client (wwwroot/) finds the Api. The page signs up, manages characters and sessions
/// at the Api, and talks here over the WebSocket.
/// </summary>
public static class ClientConfigApi
{
    /// <summary>Maps GET /config.json.</summary>
    public static IEndpointRouteBuilder MapClientConfig(this IEndpointRouteBuilder app)
    {
        var configuration = app.ServiceProvider.GetRequiredService<IConfiguration>();
        // Chat:PublicApiUrl when the browser reaches the Api at another address than Chat does (an ingress).
        var apiUrl = configuration["Chat:PublicApiUrl"] ?? configuration["services:api:http:0"] ?? "http://localhost:4008";
        app.MapGet("/config.json", () => TypedResults.Ok(new ClientConfig(apiUrl.TrimEnd('/')))).ExcludeFromDescription();
        return app;
    }

    /// <summary>What the page needs to know.</summary>
    public sealed record ClientConfig(string ApiUrl);
}
