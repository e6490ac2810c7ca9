using System.Text;
using System.Text.Json.Nodes;

namespace Avatar.Kubernetes;

/// <summary>Aspire's manifest (<c>--publisher manifest</c>): its resources, in the order the AppHost declared them.</summary>
internal sealed class AspireManifest
{
    private readonly Dictionary<string, ManifestResource> _byName;

    private AspireManifest(List<ManifestResource> resources)
    {
        Resources = resources;
        _byName = resources.ToDictionary(r => r.Name, StringComparer.Ordinal);
    }

    public IReadOnlyList<ManifestResource> Resources { get; }

    public static AspireManifest Load(string path)
    {
        var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
            ?? throw new InvalidDataException($"{path} is not an Aspire manifest.");
        var resources = root["resources"] as JsonObject ?? throw new InvalidDataException($"{path} has no resources.");
        return new AspireManifest(resources.Select(r => new ManifestResource(r.Key, r.Value as JsonObject
            ?? throw new InvalidDataException($"Resource '{r.Key}' is not an object."))).ToList());
    }

    public ManifestResource this[string name] => _byName.TryGetValue(name, out var resource) ? resource
        : throw new InvalidDataException($"The manifest refers to '{name}', which it does not declare.");
}

/// <summary>One resource of the manifest.</summary>
internal sealed class ManifestResource(string name, JsonObject json)
{
    /// <summary>The <c>type</c> of the deployment objects Avatar.Hosting's <c>AddKubernetesDeploymentInfo</c> writes.</summary>
    public const string DeploymentType = "avatar.kubernetes.v0";

    public string Name { get; } = name;

    public JsonObject Json { get; } = json;

    public string Type => (string?)Json["type"] ?? throw new InvalidDataException($"Resource '{Name}' has no type.");

    public bool IsProject => Type is "project.v0" or "project.v1";

    public bool IsContainer => Type is "container.v0" or "container.v1";

    /// <summary>What Kubernetes needs beyond Aspire's fields (replicas, probes, resources...), when the AppHost wrote it.</summary>
    public JsonObject? Deployment => Json["deployment"] is JsonObject deployment && (string?)deployment["type"] == DeploymentType ? deployment : null;

    public string? Image => (string?)Json["image"];

    public string? Entrypoint => (string?)Json["entrypoint"];

    public string? ProjectPath => (string?)Json["path"];

    public IReadOnlyList<string> Args => Json["args"] is JsonArray args ? args.Select(a => (string)a!).ToList() : [];

    public IReadOnlyList<KeyValuePair<string, string>> Env => Json["env"] is JsonObject env
        ? env.Select(e => new KeyValuePair<string, string>(e.Key, (string)e.Value!)).ToList()
        : [];

    public IReadOnlyList<Binding> Bindings => Json["bindings"] is JsonObject bindings
        ? bindings.Select(b => Binding.From(Name, b.Key, (JsonObject)b.Value!)).ToList()
        : [];

    public IReadOnlyList<(string Name, string Target)> Volumes => Json["volumes"] is JsonArray volumes
        ? volumes.Select(v => ((string)v!["name"]!, (string)v["target"]!)).ToList()
        : [];

    public Binding BindingNamed(string name) => Bindings.SingleOrDefault(b => b.Name == name)
        ?? throw new InvalidDataException($"Resource '{Name}' has no binding '{name}'.");
}

/// <summary>An endpoint. Inside the cluster its Service listens on the container's port, <see cref="TargetPort"/>.</summary>
internal sealed record Binding(string Name, string Scheme, string Transport, int TargetPort, bool External)
{
    public bool IsHttp2 => Transport == "http2";

    public static Binding From(string resource, string name, JsonObject json)
    {
        // As Aspirate: an "http" binding without a port is the .NET images' 8080 (8443 for "https").
        var targetPort = (int?)json["targetPort"] ?? name switch
        {
            "http" => 8080,
            "https" => 8443,
            _ => throw new InvalidDataException($"Binding '{name}' of '{resource}' needs a targetPort to be published."),
        };
        return new Binding(name, (string)json["scheme"]!, (string)json["transport"]!, targetPort, (bool?)json["external"] ?? false);
    }
}

/// <summary>A resolved value, and whether any part of it came from a secret parameter.</summary>
internal readonly record struct Resolved(string Value, bool IsSecret);

/// <summary>
/// Resolves the manifest's expressions (<c>{resource.bindings.http.url}</c>, <c>{db.connectionString}</c>,
/// <c>{password.value}</c>...) to their values inside the cluster, the way Aspirate does: a binding's host is its
/// resource's Service name, its url <c>scheme://name:port</c>; a connection string or any other property is the
/// resolution of its own expression (so a conditional expression's <c>value.v0</c> gives the branch Aspire chose); a
/// parameter is its value; an <c>annotated.string</c> is its value through its filter.
/// </summary>
internal sealed class ManifestExpressions(AspireManifest manifest, Parameters parameters)
{
    // Deeper than any real chain of connection strings: only a cycle gets here.
    private const int MaxDepth = 32;

    public Resolved Resolve(string template) => Resolve(template, 0);

    private Resolved Resolve(string template, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidDataException($"The expression '{template}' refers to itself.");
        }
        var text = new StringBuilder();
        var secret = false;
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            // {{ and }} are the manifest's literal braces.
            if ((c == '{' || c == '}') && i + 1 < template.Length && template[i + 1] == c)
            {
                text.Append(c);
                i++;
            }
            else if (c == '{')
            {
                var end = template.IndexOf('}', i + 1);
                if (end < 0)
                {
                    throw new InvalidDataException($"The expression '{template}' has an unclosed '{{'.");
                }
                // The value is appended as it is, never read again for expressions: a generated password may hold braces.
                var value = Reference(template[(i + 1)..end], depth);
                text.Append(value.Value);
                secret |= value.IsSecret;
                i = end;
            }
            else
            {
                text.Append(c);
            }
        }
        return new Resolved(text.ToString(), secret);
    }

    private Resolved Reference(string reference, int depth)
    {
        var path = reference.Split('.');
        var resource = manifest[path[0]];
        if (path is [_, "bindings", var bindingName, var property])
        {
            var binding = resource.BindingNamed(bindingName);
            return new Resolved(property switch
            {
                "host" => resource.Name,
                "port" or "targetPort" => binding.TargetPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "url" => $"{binding.Scheme}://{resource.Name}:{binding.TargetPort}",
                "scheme" => binding.Scheme,
                _ => throw new InvalidDataException($"'{{{reference}}}': no binding property '{property}' inside a cluster."),
            }, false);
        }
        switch (resource.Type, string.Join('.', path.Skip(1)))
        {
            case ("parameter.v0", "value" or "inputs.value"):
                return parameters.Value(resource.Name);
            case ("annotated.string", "value"):
                var value = Resolve((string)resource.Json["value"]!, depth + 1);
                return value with
                {
                    Value = (string?)resource.Json["filter"] switch
                    {
                        "uri" => Uri.EscapeDataString(value.Value),
                        var filter => throw new InvalidDataException($"'{resource.Name}': unknown filter '{filter}'."),
                    },
                };
        }
        JsonNode? node = resource.Json;
        foreach (var part in path.Skip(1))
        {
            node = node?[part];
        }
        return node is JsonValue leaf && leaf.TryGetValue<string>(out var expression)
            ? Resolve(expression, depth + 1)
            : throw new InvalidDataException($"'{{{reference}}}' does not name a value in the manifest.");
    }
}
