using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace Avatar.Hosting;

/// <summary>Part of an application, for tests and benchmarks that need one service and what it stands on.</summary>
public static class PartialTopologyExtensions
{
    /// <summary>
    /// Keeps <paramref name="names"/> and everything they reference, wait for or belong to, and removes every other
    /// resource: <c>KeepOnly("chat")</c> leaves chat, the api, the A2F pair, PostgreSQL and the migrations.
    /// </summary>
    public static T KeepOnly<T>(this T builder, params string[] names) where T : IDistributedApplicationBuilder
    {
        var keep = new HashSet<IResource>();
        var pending = new Stack<IResource>(names.Select(name =>
            builder.Resources.SingleOrDefault(r => r.Name == name) ?? throw new InvalidOperationException($"No resource is named '{name}'.")));
        while (pending.TryPop(out var resource))
        {
            if (!keep.Add(resource))
            {
                continue;
            }
            if (resource is IResourceWithParent child)
            {
                pending.Push(child.Parent);
            }
            foreach (var wait in resource.Annotations.OfType<WaitAnnotation>())
            {
                pending.Push(wait.Resource);
            }
            foreach (var relationship in resource.Annotations.OfType<ResourceRelationshipAnnotation>())
            {
                pending.Push(relationship.Resource);
            }
        }
        foreach (var resource in builder.Resources.Where(r => !keep.Contains(r)).ToList())
        {
            builder.Resources.Remove(resource);
        }
        return builder;
    }
}
