internal static class ContainerPorts
{
    /// <summary>
    /// Where a project whose endpoints come from its Kestrel settings listens inside its container when published: the
    /// given ports (NVIDIA's defaults for the A2F pair), and 8080 for "http" as in every .NET image. Locally the ports
    /// come from the Kestrel settings, and each replica gets a free one behind them.
    /// </summary>
    /// <remarks>
    /// Publishing, Aspire also gives such a project an "https" endpoint (the launch-profile defaults it applies in
    /// publish mode); nothing listens there, so it is removed rather than published as a container port, a Service port
    /// and a services__*__https__0 variable in every project that references it.
    /// </remarks>
    public static IResourceBuilder<ProjectResource> WithContainerPorts(this IResourceBuilder<ProjectResource> project, params (string Endpoint, int Port)[] ports)
    {
        if (!project.ApplicationBuilder.ExecutionContext.IsPublishMode)
        {
            return project;
        }
        foreach (var https in project.Resource.Annotations.OfType<EndpointAnnotation>().Where(e => e.Name == "https").ToList())
        {
            project.Resource.Annotations.Remove(https);
        }
        foreach (var (endpoint, port) in ports.Append(("http", 8080)))
        {
            project.WithEndpoint(endpoint, e => e.TargetPort = port);
        }
        return project;
    }
}
