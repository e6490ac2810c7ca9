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
        var apiUrl = ApiUrl(app.ServiceProvider.GetRequiredService<IConfiguration>());
        app.MapGet("/config.json", () => TypedResults.Ok(new ClientConfig(apiUrl))).ExcludeFromDescription();
        return app;
    }

    /// <summary>
    /// A Content-Security-Policy on every response: the page runs only its own scripts and styles, talks only to Chat
    /// (its WebSocket is same-origin) and the Api, and may not be framed, so injected markup can neither run nor phone home.
    /// </summary>
    public static IApplicationBuilder UseContentSecurityPolicy(this WebApplication app)
    {
        var api = new Uri(ApiUrl(app.Configuration)).GetLeftPart(UriPartial.Authority);
        var policy = $"default-src 'self'; connect-src 'self' {api}; img-src 'self' data:; object-src 'none'; base-uri 'none'; " +
            "form-action 'self'; frame-ancestors 'none'";
        return app.Use((http, next) =>
        {
            http.Response.Headers.ContentSecurityPolicy = policy;
            return next(http);
        });
    }

    /// <summary>Chat:PublicApiUrl when the browser reaches the Api at another address than Chat does (an ingress).</summary>
    private static string ApiUrl(IConfiguration configuration) =>
        (configuration["Chat:PublicApiUrl"] ?? configuration["services:api:http:0"] ?? "http://localhost:4008").TrimEnd('/');

    /// <summary>What the page needs to know.</summary>
    public sealed record ClientConfig(string ApiUrl);
}
