using System.Text.Json;
using System.Text.Json.Nodes;

namespace Avatar.Kubernetes;

/// <summary>Kubernetes and kustomize objects as ordered maps, in the order their fields are written.</summary>
internal static class KubernetesObjects
{
    public static Dictionary<string, object?> Map(params (string Key, object? Value)[] entries)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in entries)
        {
            map[key] = value;
        }
        return map;
    }

    /// <summary>A fragment of the manifest (a deployment object's probe, resources...) as a map, its numbers kept numbers.</summary>
    public static object? FromJson(JsonNode? node) => node switch
    {
        null => null,
        JsonObject map => map.ToDictionary(e => e.Key, e => FromJson(e.Value), StringComparer.Ordinal),
        JsonArray list => list.Select(FromJson).ToList(),
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.Number => value.GetValue<long>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => value.GetValue<string>(),
        },
        _ => throw new InvalidDataException($"Unexpected JSON: {node}"),
    };

    public static Dictionary<string, object?> Labels(string name) => Map(("app.kubernetes.io/name", name));

    public static Dictionary<string, object?> Kustomization(IEnumerable<string> resources, bool labels = false)
    {
        var kustomization = Map(("apiVersion", "kustomize.config.k8s.io/v1beta1"), ("kind", "Kustomization"));
        if (labels)
        {
            kustomization["labels"] = new List<object> { Map(("pairs", Map(("app.kubernetes.io/part-of", "avatar")))) };
        }
        kustomization["resources"] = resources.Cast<object>().ToList();
        return kustomization;
    }

    public static List<object> Literals(IEnumerable<KeyValuePair<string, string>> values)
        => values.Select(v => (object)$"{v.Key}={v.Value}").ToList();

    public static List<object> SecretGenerator(string name)
        => [Map(("name", $"{name}-secrets"), ("envs", new List<object> { $"{name}.secret.env" }))];

    public static Dictionary<string, object?> Workload(string apiVersion, string kind, string name, Dictionary<string, object?> spec)
        => Map(("apiVersion", apiVersion), ("kind", kind), ("metadata", Map(("name", name), ("labels", Labels(name)))), ("spec", spec));

    public static Dictionary<string, object?> Port(Binding binding)
        => Map(("name", binding.Name), ("containerPort", binding.TargetPort), ("protocol", "TCP"));

    public static Dictionary<string, object?> Service(string name, IEnumerable<Binding> bindings, bool headless)
    {
        var spec = Map(("selector", Labels(name)));
        if (headless)
        {
            // Stateful stores get stable pod DNS names; clients still connect to the service's name.
            spec["clusterIP"] = "None";
        }
        spec["ports"] = bindings.Select(b => (object)Map(("name", b.Name), ("port", b.TargetPort), ("targetPort", b.Name), ("protocol", "TCP"))).ToList();
        return Map(("apiVersion", "v1"), ("kind", "Service"), ("metadata", Map(("name", name), ("labels", Labels(name)))), ("spec", spec));
    }

    public static Dictionary<string, object?> Autoscaler(string name, JsonObject autoscaling)
        => Map(("apiVersion", "autoscaling/v2"), ("kind", "HorizontalPodAutoscaler"), ("metadata", Map(("name", name), ("labels", Labels(name)))),
            ("spec", Map(
                ("scaleTargetRef", Map(("apiVersion", "apps/v1"), ("kind", "Deployment"), ("name", name))),
                ("minReplicas", (int)autoscaling["minReplicas"]!),
                ("maxReplicas", (int)autoscaling["maxReplicas"]!),
                ("metrics", new List<object>
                {
                    Map(("type", "Resource"), ("resource", Map(("name", "cpu"),
                        ("target", Map(("type", "Utilization"), ("averageUtilization", (int)autoscaling["cpuUtilization"]!)))))),
                }))));
}
