using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace Avatar.Hosting;

/// <summary>A readiness, liveness or startup probe on the standard gRPC health service (grpc.health.v1.Health).</summary>
public sealed class GrpcProbeAnnotation : ProbeAnnotation
{
    /// <summary>The endpoint whose port answers the gRPC health service.</summary>
    public required EndpointReference EndpointReference { get; init; }
}

/// <summary>The health endpoints a project maps with <c>MapDefaultEndpoints</c>, as health checks and as probes.</summary>
public static class HealthProbeExtensions
{
    // Kubelet's defaults but for a longer period and timeout: a pod busy with real-time audio may answer a probe late
    // without being unhealthy.
    private const int InitialDelaySeconds = 5;
    private const int PeriodSeconds = 10;
    private const int TimeoutSeconds = 3;
    private const int FailureThreshold = 3;

    /// <summary>
    /// Readiness on <c>/health</c> (every check) and liveness on <c>/alive</c> (the process is not stuck), both on the
    /// "http" endpoint. Locally they are the health checks <c>WaitFor</c> waits on; published, the project's probes.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithHealthProbes(this IResourceBuilder<ProjectResource> project) =>
        project
            .WithHttpProbe(ProbeType.Readiness, "/health", InitialDelaySeconds, PeriodSeconds, TimeoutSeconds, FailureThreshold, endpointName: "http")
            .WithHttpProbe(ProbeType.Liveness, "/alive", InitialDelaySeconds, PeriodSeconds, TimeoutSeconds, FailureThreshold, endpointName: "http");

    /// <summary>
    /// Readiness on the standard gRPC health service of <paramref name="endpointName"/>, in place of an HTTP one: the
    /// service behind that port is what clients need, and kubelet and load balancers speak the gRPC health protocol.
    /// Locally the HTTP health check of <see cref="WithHealthProbes"/> still stands.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithGrpcReadinessProbe(this IResourceBuilder<ProjectResource> project, string endpointName)
    {
        foreach (var readiness in project.Resource.Annotations.OfType<ProbeAnnotation>().Where(p => p.Type == ProbeType.Readiness).ToList())
        {
            project.Resource.Annotations.Remove(readiness);
        }
        return project.WithAnnotation(new GrpcProbeAnnotation
        {
            Type = ProbeType.Readiness,
            EndpointReference = project.GetEndpoint(endpointName),
            InitialDelaySeconds = InitialDelaySeconds,
            PeriodSeconds = PeriodSeconds,
            TimeoutSeconds = TimeoutSeconds,
            FailureThreshold = FailureThreshold,
            SuccessThreshold = 1,
        });
    }
}
