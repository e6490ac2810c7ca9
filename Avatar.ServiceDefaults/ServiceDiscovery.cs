using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Resolves logical service names the way Aspire's service discovery does: <c>http://api</c> becomes one of the
/// endpoints in configuration <c>services:api:http:0</c>, <c>services:api:http:1</c>... (environment variables
/// <c>services__api__http__0</c>), round robin over replicas. <c>https+http://api</c> prefers https and falls back to http.
/// Hosts with no configured endpoints (real DNS names) pass through unchanged.
/// </summary>
public sealed class ServiceEndpointResolver(IConfiguration configuration)
{
    private readonly Dictionary<string, int> _next = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();

    /// <summary>The concrete URI for <paramref name="uri"/>, or the same URI when it names no configured service.</summary>
    public Uri Resolve(Uri uri)
    {
        var schemes = uri.Scheme.Split('+');
        foreach (var scheme in schemes)
        {
            var endpoints = configuration.GetSection($"services:{uri.Host}:{scheme}").GetChildren()
                .OrderBy(c => int.TryParse(c.Key, out var i) ? i : int.MaxValue).Select(c => c.Value).OfType<string>().ToList();
            if (endpoints.Count == 0)
            {
                continue;
            }
            int index;
            lock (_gate)
            {
                var key = $"{uri.Host}:{scheme}";
                index = _next.GetValueOrDefault(key);
                _next[key] = (index + 1) % endpoints.Count;
            }
            var target = new Uri(endpoints[index % endpoints.Count]);
            return new UriBuilder(uri) { Scheme = target.Scheme, Host = target.Host, Port = target.Port }.Uri;
        }
        return schemes.Length > 1 ? new UriBuilder(uri) { Scheme = schemes[^1], Port = -1 }.Uri : uri;
    }
}

/// <summary>Rewrites each request's address through <see cref="ServiceEndpointResolver"/>.</summary>
public sealed class ServiceDiscoveryHandler(ServiceEndpointResolver resolver) : DelegatingHandler
{
    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is { IsAbsoluteUri: true } uri)
        {
            request.RequestUri = resolver.Resolve(uri);
        }
        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>Registration of service discovery.</summary>
public static class ServiceDiscoveryExtensions
{
    /// <summary>Registers the resolver.</summary>
    public static IServiceCollection AddServiceDiscovery(this IServiceCollection services)
    {
        services.AddSingleton<ServiceEndpointResolver>();
        services.AddTransient<ServiceDiscoveryHandler>();
        return services;
    }

    /// <summary>Resolves this client's service names on every request.</summary>
    public static IHttpClientBuilder AddServiceDiscovery(this IHttpClientBuilder builder) =>
        builder.AddHttpMessageHandler<ServiceDiscoveryHandler>();
}
