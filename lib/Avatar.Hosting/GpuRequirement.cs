using Aspire.Hosting.ApplicationModel;

namespace Avatar.Hosting;

/// <summary>The resource needs <see cref="Count"/> NVIDIA GPUs where it is deployed.</summary>
public sealed record GpuRequirementAnnotation(int Count) : IResourceAnnotation;

/// <summary>Declares what a resource needs from the machine it is deployed to.</summary>
public static class GpuRequirementExtensions
{
    /// <summary>
    /// The resource needs <paramref name="count"/> GPUs when deployed: the Kubernetes output asks for
    /// <c>nvidia.com/gpu</c>, selects GPU nodes and tolerates their taint. Locally it runs on what the machine has.
    /// </summary>
    public static IResourceBuilder<T> WithGpu<T>(this IResourceBuilder<T> builder, int count = 1) where T : IResource
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return builder.WithAnnotation(new GpuRequirementAnnotation(count), ResourceAnnotationMutationBehavior.Replace);
    }
}
