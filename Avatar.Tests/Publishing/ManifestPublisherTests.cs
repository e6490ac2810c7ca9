using System.Text.Json;
using Avatar.Hosting.Publishing;
using Avatar.Hosting.Testing;

namespace Avatar.Tests.Publishing;

public sealed class ManifestPublisherTests : IDisposable
{
    // The aspire-8.0 schema's rules for the resource types written here (SchemaStore src/schemas/json/aspire-8.0.json):
    // each type's required properties, and its closed set of allowed ones (additionalProperties: false).
    private static readonly Dictionary<string, (string[] Required, string[] Allowed)> s_schema = new()
    {
        ["container.v0"] = (["type", "image"], ["type", "image", "entrypoint", "args", "connectionString", "env", "bindings", "bindMounts", "volumes"]),
        ["project.v0"] = (["type", "path"], ["type", "path", "args", "env", "bindings"]),
        ["value.v0"] = (["connectionString"], ["type", "connectionString"]),
        ["parameter.v0"] = (["value", "inputs"], ["type", "value", "connectionString", "inputs"]),
    };

    private static readonly string[] s_bindingRequired = ["scheme", "protocol", "transport"];
    private static readonly string[] s_bindingAllowed = ["scheme", "protocol", "transport", "external", "port", "targetPort"];

    private readonly string _folder = Directory.CreateTempSubdirectory("avatar-manifest-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private async Task<JsonElement> PublishAsync()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Avatar_AppHost>();
        var path = Path.Combine(_folder, "aspire-manifest.json");
        ManifestPublisher.Write(builder.Resources, path);
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task TheManifestHasEveryResourceWithItsAspireType()
    {
        var manifest = await PublishAsync();

        Assert.Equal(ManifestPublisher.SchemaUrl, manifest.GetProperty("$schema").GetString());
        var types = manifest.GetProperty("resources").EnumerateObject().ToDictionary(r => r.Name, r => r.Value.GetProperty("type").GetString());
        Assert.Equal(new Dictionary<string, string?>
        {
            ["postgres-password"] = "parameter.v0", ["postgres"] = "container.v0", ["avatardb"] = "value.v0",
            ["redis-password"] = "parameter.v0", ["redis"] = "container.v0", ["migrations"] = "project.v0", ["api"] = "project.v0",
            ["a2f-inference"] = "project.v0", ["a2f-controller"] = "project.v0", ["chat"] = "project.v0", ["worker"] = "project.v0",
        }, types);
    }

    [Fact]
    public async Task EveryResourceKeepsToTheSchemasRequiredAndAllowedProperties()
    {
        var manifest = await PublishAsync();

        foreach (var resource in manifest.GetProperty("resources").EnumerateObject())
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
        }
    }

    [Fact]
    public async Task DataResourcesCarryImagesPortsAndConnectionStringExpressions()
    {
        var resources = (await PublishAsync()).GetProperty("resources");

        var postgres = resources.GetProperty("postgres");
        Assert.Equal(Avatar.Hosting.PostgresServerResource.Image, postgres.GetProperty("image").GetString());
        Assert.Equal(5432, postgres.GetProperty("bindings").GetProperty("tcp").GetProperty("targetPort").GetInt32());
        Assert.Equal("Host={postgres.bindings.tcp.host};Port={postgres.bindings.tcp.port};Username=postgres;Password={postgres-password.value}",
            postgres.GetProperty("connectionString").GetString());
        Assert.Equal("{postgres-password.value}", postgres.GetProperty("env").GetProperty("POSTGRES_PASSWORD").GetString());
        Assert.Equal("{postgres.connectionString};Database=avatardb", resources.GetProperty("avatardb").GetProperty("connectionString").GetString());
        var redis = resources.GetProperty("redis");
        Assert.Equal(Avatar.Hosting.RedisResource.Image, redis.GetProperty("image").GetString());
        Assert.Equal(6379, redis.GetProperty("bindings").GetProperty("tcp").GetProperty("targetPort").GetInt32());
        var secret = resources.GetProperty("redis-password").GetProperty("inputs").GetProperty("value");
        Assert.True(secret.GetProperty("secret").GetBoolean());
        Assert.Equal(22, secret.GetProperty("default").GetProperty("generate").GetProperty("minLength").GetInt32());
    }

    [Fact]
    public async Task ProjectsGetRelativePathsReferencesExternalBindingsAndArgs()
    {
        var resources = (await PublishAsync()).GetProperty("resources");

        var api = resources.GetProperty("api");
        var path = api.GetProperty("path").GetString()!;
        Assert.False(Path.IsPathRooted(path));
        Assert.True(File.Exists(Path.Combine(_folder, path)), $"{path} does not resolve from the manifest's folder.");
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
    public void AnEmptyOutputPathIsAClearError()
    {
        var error = Assert.Throws<ArgumentException>(() => ManifestPublisher.Write([], " "));
        Assert.Contains("outputPath", error.Message);
    }
}
