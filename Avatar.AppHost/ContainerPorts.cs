internal static class ContainerPorts
{
    /// <summary>
    /// The port the endpoint listens on inside its container when published (NVIDIA's defaults for the A2F pair).
    /// Locally the port comes from the project's Kestrel settings, and each replica gets a free one behind it.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithContainerPort(this IResourceBuilder<ProjectResource> project, string endpointName, int port) =>
        project.ApplicationBuilder.ExecutionContext.IsPublishMode
            ? project.WithEndpoint(endpointName, e => e.TargetPort = port)
            : project;
}
