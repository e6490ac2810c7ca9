using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace Avatar.Hosting;

/// <summary>The environment variable <see cref="Name"/> holds the address a browser reaches <see cref="Endpoint"/> at.</summary>
public sealed record PublicUrlAnnotation(string Name, EndpointReference Endpoint) : IResourceAnnotation;

/// <summary>Addresses handed to browsers rather than to services.</summary>
public static class PublicUrlExtensions
{
    /// <summary>
    /// Sets <paramref name="name"/> to where a browser reaches <paramref name="endpoint"/>: its URL when run locally;
    /// when published to Kubernetes, its ingress URL, which only an external endpoint has. Aspire's manifest can only say
    /// the endpoint's in-cluster URL, so the Kubernetes deployment info carries which variable means the public one.
    /// Unlike a reference, it makes no dependency: a browser's address says nothing about what must run first, and part of
    /// the application without the endpoint's resource (<c>KeepOnly</c>) leaves the variable out.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithPublicUrl(this IResourceBuilder<ProjectResource> builder, string name, EndpointReference endpoint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(endpoint);
        return builder.WithEnvironment(context =>
        {
            if (context.ExecutionContext.Services.GetRequiredService<DistributedApplicationModel>().Resources.Contains(endpoint.Resource))
            {
                context.EnvironmentVariables[name] = endpoint;
            }
        }).WithAnnotation(new PublicUrlAnnotation(name, endpoint));
    }
}
