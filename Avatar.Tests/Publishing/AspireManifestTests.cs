using System.Text.Json;

namespace Avatar.Tests.Publishing;

[Collection(PublishingCollection.Name)]
public sealed class AspireManifestTests(PublishedOutput published)
{
    // The aspire-8.0 schema's rules for the resource types the AppHost writes (SchemaStore src/schemas/json/aspire-8.0.json):
    // each type's required properties, and its closed set of allowed ones (additionalProperties: false). The schema
    // types a v1 resource's "deployment" as Azure's bicep only; Avatar's Kubernetes object is checked on its own below.
    private static readonly Dictionary<string, (string[] Required, string[] Allowed)> s_schema = new()
    {
        ["container.v1"] = (["type", "image"], ["type", "image", "entrypoint", "deployment", "args", "build", "connectionString", "env", "bindings", "bindMounts", "volumes"]),
        ["project.v1"] = (["type", "path"], ["type", "path", "deployment", "args", "env", "bindings"]),
        ["value.v0"] = (["connectionString"], ["type", "connectionString"]),
        ["parameter.v0"] = (["value", "inputs"], ["type", "value", "connectionString", "inputs"]),
        ["annotated.string"] = (["type", "value", "filter"], ["type", "value", "filter"]),
    };

    private static readonly string[] s_bindingRequired = ["scheme", "protocol", "transport"];
    private static readonly string[] s_bindingAllowed = ["scheme", "protocol", "transport", "external", "port", "targetPort"];

    private JsonElement Resources()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(published.ManifestPath));
        return document.RootElement.GetProperty("resources").Clone();
    }

    [Fact]
    public void TheManifestHasEveryResourceWithItsAspireType()
    {
        var types = Resources().EnumerateObject().ToDictionary(r => r.Name, r => r.Value.GetProperty("type").GetString());

        // Redis's connection string ends in a conditional (",ssl=true" when TLS is on), written as a value resource of its own.
        var conditional = Assert.Single(types.Keys, k => k.StartsWith("cond-redis-bindings-tcp-tlsenabled-", StringComparison.Ordinal));
        Assert.Equal(new Dictionary<string, string?>
        {
            ["postgres-password"] = "parameter.v0", ["postgres-password-uri-encoded"] = "annotated.string",
            ["postgres"] = "container.v1", ["avatardb"] = "value.v0",
            ["redis-password"] = "parameter.v0", ["redis-password-uri-encoded"] = "annotated.string", ["redis"] = "container.v1",
            [conditional] = "value.v0",
            ["migrations"] = "project.v1", ["api"] = "project.v1", ["a2f-inference"] = "project.v1", ["a2f-controller"] = "project.v1",
            ["chat"] = "project.v1", ["worker"] = "project.v1",
        }, types);
    }

    [Fact]
    public void EveryResourceKeepsToTheSchemasRequiredAndAllowedProperties()
    {
        foreach (var resource in Resources().EnumerateObject())
        {
            var (required, allowed) = s_schema[resource.Value.GetProperty("type").GetString()!];
            var names = resource.Value.EnumerateObject().Select(p => p.Name).ToList();
            Assert.All(required, r => Assert.Contains(r, names));
            Assert.All(names, n => Assert.Contains(n, allowed));
            if (resource.Value.TryGetProperty("env", out var env))
            {
                Assert.All(env.EnumerateObject(), e => Assert.Equal(JsonValueKind.String, e.Value.ValueKind));
            }
            if (resource.Value.TryGetProperty("bindings", out var bindings))
            {
                foreach (var binding in bindings.EnumerateObject())
                {
                    var keys = binding.Value.EnumerateObject().Select(p => p.Name).ToList();
                    Assert.All(s_bindingRequired, r => Assert.Contains(r, keys));
                    Assert.All(keys, k => Assert.Contains(k, s_bindingAllowed));
                }
            }
            if (resource.Value.TryGetProperty("deployment", out var deployment))
            {
                Assert.Equal("avatar.kubernetes.v0", deployment.GetProperty("type").GetString());
            }
        }
    }

    [Fact]
    public void DataResourcesCarryImagesPortsVolumesAndConnectionStringExpressions()
    {
        var resources = Resources();

        var postgres = resources.GetProperty("postgres");
        Assert.StartsWith("docker.io/library/postgres:", postgres.GetProperty("image").GetString());
        Assert.Equal(5432, postgres.GetProperty("bindings").GetProperty("tcp").GetProperty("targetPort").GetInt32());
        Assert.Equal("Host={postgres.bindings.tcp.host};Port={postgres.bindings.tcp.port};Username=postgres;Password={postgres-password.value}",
            postgres.GetProperty("connectionString").GetString());
        Assert.Equal("{postgres-password.value}", postgres.GetProperty("env").GetProperty("POSTGRES_PASSWORD").GetString());
        Assert.Equal("/var/lib/postgresql", Assert.Single(postgres.GetProperty("volumes").EnumerateArray()).GetProperty("target").GetString());
        Assert.Equal("{postgres.connectionString};Database=avatardb", resources.GetProperty("avatardb").GetProperty("connectionString").GetString());
        var redis = resources.GetProperty("redis");
        Assert.StartsWith("docker.io/library/redis:", redis.GetProperty("image").GetString());
        Assert.Equal(6379, redis.GetProperty("bindings").GetProperty("tcp").GetProperty("targetPort").GetInt32());
        Assert.Equal("/data", Assert.Single(redis.GetProperty("volumes").EnumerateArray()).GetProperty("target").GetString());
        var secret = resources.GetProperty("redis-password").GetProperty("inputs").GetProperty("value");
        Assert.True(secret.GetProperty("secret").GetBoolean());
        Assert.Equal(22, secret.GetProperty("default").GetProperty("generate").GetProperty("minLength").GetInt32());
        // StackExchange.Redis cannot take a password with a comma in its connection string.
        Assert.False(secret.GetProperty("default").GetProperty("generate").GetProperty("special").GetBoolean());
    }

    [Fact]
    public void ProjectsGetRelativePathsReferencesExternalBindingsAndArgs()
    {
        var resources = Resources();

        var api = resources.GetProperty("api");
        var path = api.GetProperty("path").GetString()!;
        Assert.False(Path.IsPathRooted(path));
        Assert.True(File.Exists(Path.Combine(published.Folder, path)), $"{path} does not resolve from the manifest's folder.");
        Assert.Equal("{avatardb.connectionString}", api.GetProperty("env").GetProperty("ConnectionStrings__avatardb").GetString());
        Assert.Equal("{redis.connectionString}", resources.GetProperty("worker").GetProperty("env").GetProperty("ConnectionStrings__redis").GetString());
        var controller = resources.GetProperty("a2f-controller").GetProperty("bindings");
        Assert.True(controller.GetProperty("grpc").GetProperty("external").GetBoolean());
        Assert.False(controller.GetProperty("animation").TryGetProperty("external", out _), "inference's port into the controller stays inside");
        Assert.Equal("{api.bindings.http.targetPort}", api.GetProperty("env").GetProperty("HTTP_PORTS").GetString());
        Assert.True(api.GetProperty("bindings").GetProperty("http").GetProperty("external").GetBoolean());
        Assert.False(resources.GetProperty("worker").GetProperty("bindings").GetProperty("http").TryGetProperty("external", out _));
        Assert.Equal("{api.bindings.http.url}", resources.GetProperty("chat").GetProperty("env").GetProperty("services__api__http__0").GetString());
        Assert.Equal(["migrate"], resources.GetProperty("migrations").GetProperty("args").EnumerateArray().Select(a => a.GetString()));
    }

    [Fact]
    public void TheA2FProjectsPublishNvidiasPortsAndNoHttpsEndpoint()
    {
        var resources = Resources();

        foreach (var (name, ports) in new[] { ("a2f-inference", new[] { ("grpc", 50010), ("http", 8080) }),
            ("a2f-controller", new[] { ("animation", 51010), ("grpc", 52010), ("http", 8080) }) })
        {
            var bindings = resources.GetProperty(name).GetProperty("bindings");
            Assert.Equal(ports, bindings.EnumerateObject().Select(b => (b.Name, b.Value.GetProperty("targetPort").GetInt32())));
        }
        var environment = resources.EnumerateObject().Where(r => r.Value.TryGetProperty("env", out _))
            .SelectMany(r => r.Value.GetProperty("env").EnumerateObject());
        Assert.DoesNotContain(environment, e => e.Value.GetString()!.Contains(".bindings.https.", StringComparison.Ordinal));
    }

    [Fact]
    public void DeploymentObjectsCarryReplicasGpusProbesJobsAndPublicUrls()
    {
        var resources = Resources();
        JsonElement Deployment(string name) => resources.GetProperty(name).GetProperty("deployment");

        Assert.Equal(2, Deployment("api").GetProperty("replicas").GetInt32());
        Assert.Equal("/health", Deployment("api").GetProperty("readinessProbe").GetProperty("httpGet").GetProperty("path").GetString());
        Assert.Equal("/alive", Deployment("api").GetProperty("livenessProbe").GetProperty("httpGet").GetProperty("path").GetString());
        Assert.Equal(1, Deployment("a2f-inference").GetProperty("gpus").GetInt32());
        Assert.False(Deployment("a2f-inference").TryGetProperty("autoscaling", out _), "a GPU service is scaled by hand");
        Assert.Equal(50010, Deployment("a2f-inference").GetProperty("readinessProbe").GetProperty("grpc").GetProperty("port").GetInt32());
        Assert.Equal("Job", Deployment("migrations").GetProperty("workload").GetString());
        Assert.Equal("StatefulSet", Deployment("postgres").GetProperty("workload").GetString());
        var publicUrl = Deployment("chat").GetProperty("publicUrls").GetProperty("Chat__PublicApiUrl");
        Assert.Equal(("api", "http"), (publicUrl.GetProperty("resource").GetString(), publicUrl.GetProperty("endpoint").GetString()));
        Assert.All((string[])["api", "chat", "worker", "a2f-controller", "a2f-inference", "migrations"],
            p => Assert.True(Deployment(p).TryGetProperty("resources", out _), $"{p} has no requests and limits"));
    }
}
