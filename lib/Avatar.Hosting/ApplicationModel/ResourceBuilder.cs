namespace Avatar.Hosting.ApplicationModel;

/// <summary>Fluent configuration of one resource, as in Aspire.</summary>
/// <typeparam name="T">The resource type.</typeparam>
public interface IResourceBuilder<out T>
{
    /// <summary>The application builder the resource belongs to.</summary>
    DistributedApplicationBuilder ApplicationBuilder { get; }

    /// <summary>The resource being configured.</summary>
    T Resource { get; }

    /// <summary>Adds an annotation and returns the same builder.</summary>
    IResourceBuilder<T> WithAnnotation(IResourceAnnotation annotation);
}

internal sealed class ResourceBuilder<T>(DistributedApplicationBuilder applicationBuilder, T resource) : IResourceBuilder<T>
    where T : Resource
{
    public DistributedApplicationBuilder ApplicationBuilder { get; } = applicationBuilder;

    public T Resource { get; } = resource;

    public IResourceBuilder<T> WithAnnotation(IResourceAnnotation annotation)
    {
        Resource.Annotations.Add(annotation);
        return this;
    }
}
