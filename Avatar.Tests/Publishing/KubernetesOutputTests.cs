using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Avatar.Tests.Publishing;

[Collection(PublishingCollection.Name)]
public sealed class KubernetesOutputTests(PublishedOutput published) : IDisposable
{
    private static readonly string[] s_overlays = [".", "overlays/local", "overlays/prod", "overlays/keda"];

    private static readonly string s_validator = Path.Combine(Repository.Root, "Avatar.Tests/Publishing/schema/validate.js");

    // For tests that publish again, apart from the shared output.
    private readonly string _folder = Directory.CreateTempSubdirectory("avatar-kubernetes-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void TheCommittedManifestsAreWhatMakePublishWrites()
    {
        var committed = Path.Combine(Repository.Root, "aspirate-output");

        var publishedFiles = ManifestFiles(published.OutputPath);
        Assert.Equal(publishedFiles, ManifestFiles(committed));
        foreach (var file in publishedFiles)
        {
            Assert.True(File.ReadAllText(Path.Combine(published.OutputPath, file)) == File.ReadAllText(Path.Combine(committed, file)),
                $"aspirate-output/{file} is not what `make publish` writes now: run it and commit the result.");
        }
    }

    [Fact]
    public async Task TheBaseAndEveryOverlayRenderAndKeepToTheKubernetesSchemas()
    {
        foreach (var overlay in s_overlays)
        {
            var rendered = await KustomizeAsync(published.OutputPath, overlay);
            var (exitCode, output) = await Commands.RunAsync("node", [s_validator], rendered);
            Assert.True(exitCode == 0, $"{overlay} breaks the Kubernetes schemas:\n{output}");
            Assert.Equal(Parse(rendered).Count, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
    }

    [Fact]
    public async Task TheSchemaCheckCatchesAWrongTypeAndAnUnknownField()
    {
        var rendered = (await KustomizeAsync(published.OutputPath, "."))
            .Replace("containerPort: 8080", "containerPort: \"8080\"", StringComparison.Ordinal)
            .Replace("terminationGracePeriodSeconds:", "terminationGracePeriod:", StringComparison.Ordinal);

        var (exitCode, output) = await Commands.RunAsync("node", [s_validator], rendered);

        Assert.Equal(1, exitCode);
        Assert.Contains("containerPort type", output);
        Assert.Contains("terminationGracePeriod is not a field of the schema", output);
    }

    [Fact]
    public async Task PasswordsAreOnlyInSecretsAndIgnoredFiles()
    {
        var folder = published.OutputPath;
        var passwords = File.ReadLines(Path.Combine(folder, "parameters.secret.env")).Select(l => l.Split('=', 2)[1]).ToList();
        Assert.Equal(2, passwords.Count);
        // As they appear in URIs (AVATARDB_URI, REDIS_URI) too.
        var forms = passwords.Concat(passwords.Select(Uri.EscapeDataString)).Distinct().ToList();

        foreach (var overlay in s_overlays)
        {
            var objects = Parse(await KustomizeAsync(folder, overlay));
            foreach (var configMap in objects.Where(o => Kind(o) == "ConfigMap"))
            {
                Assert.All(forms, p => Assert.DoesNotContain(p, configMap.ToString(), StringComparison.Ordinal));
            }
            var secretValues = objects.Where(o => Kind(o) == "Secret")
                .SelectMany(s => s.GetProperty("data").EnumerateObject())
                .Select(v => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(string.Concat(v.Value.GetString()!.Where(c => !char.IsWhiteSpace(c))))))
                .ToList();
            Assert.All(passwords, p => Assert.Contains(secretValues, v => v.Contains(p, StringComparison.Ordinal)));
        }
        foreach (var file in ManifestFiles(folder).Select(f => Path.Combine(folder, f)).Append(published.ManifestPath))
        {
            var text = File.ReadAllText(file);
            Assert.All(forms, p => Assert.DoesNotContain(p, text, StringComparison.Ordinal));
        }
        var (_, ignored) = await Commands.RunAsync("git", ["-C", Repository.Root, "check-ignore",
            "aspirate-output/parameters.secret.env", "aspirate-output/api/api.secret.env", "aspirate-output/overlays/keda/keda.secret.env"]);
        Assert.Equal(3, ignored.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task PublishingAgainKeepsThePasswordsAndChangesNothing()
    {
        await GenerateAsync(_folder);
        var first = File.ReadAllText(Path.Combine(_folder, "postgres/postgres.secret.env"));
        var files = AllFiles(_folder);

        await GenerateAsync(_folder);

        Assert.Equal(first, File.ReadAllText(Path.Combine(_folder, "postgres/postgres.secret.env")));
        Assert.Contains(first.Trim().Split('=', 2)[1], File.ReadAllText(Path.Combine(_folder, "api/api.secret.env")), StringComparison.Ordinal);
        Assert.Equal(files, AllFiles(_folder));
    }

    [Fact]
    public async Task EveryLongRunningContainerHasRequestsLimitsAndBothProbes()
    {
        var objects = Parse(await KustomizeAsync(published.OutputPath, "."));

        var workloads = objects.Where(o => Kind(o) is "Deployment" or "StatefulSet").ToList();
        Assert.Equal(["a2f-controller", "a2f-inference", "api", "chat", "postgres", "redis", "worker"], workloads.Select(Name).Order());
        foreach (var container in workloads.Select(Container))
        {
            var resources = container.GetProperty("resources");
            Assert.True(resources.GetProperty("requests").TryGetProperty("cpu", out _) && resources.GetProperty("requests").TryGetProperty("memory", out _));
            Assert.True(resources.GetProperty("limits").TryGetProperty("cpu", out _) && resources.GetProperty("limits").TryGetProperty("memory", out _));
            Assert.True(container.TryGetProperty("readinessProbe", out _), $"{container.GetProperty("name")} has no readiness probe");
            Assert.True(container.TryGetProperty("livenessProbe", out _), $"{container.GetProperty("name")} has no liveness probe");
            Assert.Equal("true", container.GetProperty("securityContext").GetProperty("runAsNonRoot").GetString());
        }
        var api = Container(workloads.Single(w => Name(w) == "api"));
        Assert.Equal("/health", api.GetProperty("readinessProbe").GetProperty("httpGet").GetProperty("path").GetString());
        Assert.Equal("/alive", api.GetProperty("livenessProbe").GetProperty("httpGet").GetProperty("path").GetString());
        Assert.Equal("52010", Container(workloads.Single(w => Name(w) == "a2f-controller")).GetProperty("readinessProbe").GetProperty("grpc").GetProperty("port").GetString());
        var job = objects.Single(o => Kind(o) == "Job");
        Assert.Equal("migrations", Name(job));
        Assert.Equal(["migrate"], Container(job).GetProperty("args").EnumerateArray().Select(a => a.GetString()));
        Assert.True(Container(job).GetProperty("resources").GetProperty("limits").TryGetProperty("memory", out _));
    }

    [Fact]
    public async Task InferenceAsksForAGpuOnTheGpuNodesAndTheA2FPortsAreNvidias()
    {
        var objects = Parse(await KustomizeAsync(published.OutputPath, "."));

        var inference = objects.Single(o => Kind(o) == "Deployment" && Name(o) == "a2f-inference");
        var pod = inference.GetProperty("spec").GetProperty("template").GetProperty("spec");
        Assert.Equal("1", Container(inference).GetProperty("resources").GetProperty("limits").GetProperty("nvidia.com/gpu").GetString());
        Assert.Equal("true", pod.GetProperty("nodeSelector").GetProperty("nvidia.com/gpu.present").GetString());
        Assert.Contains(pod.GetProperty("tolerations").EnumerateArray(), t => t.GetProperty("key").GetString() == "nvidia.com/gpu");
        var ports = objects.Where(o => Kind(o) == "Service" && Name(o).StartsWith("a2f-", StringComparison.Ordinal))
            .SelectMany(s => s.GetProperty("spec").GetProperty("ports").EnumerateArray())
            .Where(p => p.GetProperty("name").GetString() != "http")
            .Select(p => p.GetProperty("port").GetString());
        Assert.Equal(["50010", "51010", "52010"], ports.Order());
        var config = objects.Single(o => Kind(o) == "ConfigMap" && Name(o).StartsWith("a2f-inference-env", StringComparison.Ordinal));
        Assert.Equal("http://a2f-controller:51010", config.GetProperty("data").GetProperty("services__a2f-controller__animation__0").GetString());
        Assert.Equal("http://*:50010", config.GetProperty("data").GetProperty("Kestrel__Endpoints__grpc__Url").GetString());
        var controller = objects.Single(o => Kind(o) == "Deployment" && Name(o) == "a2f-controller");
        Assert.Contains(Container(controller).GetProperty("env").EnumerateArray(),
            e => e.GetProperty("name").GetString() == "POD_IP" && e.GetProperty("valueFrom").GetProperty("fieldRef").GetProperty("fieldPath").GetString() == "status.podIP");
    }

    [Fact]
    public async Task StatelessServicesScaleOnCpuAndTheDataStoresAreStatefulSetsWithVolumes()
    {
        var objects = Parse(await KustomizeAsync(published.OutputPath, "."));

        var autoscalers = objects.Where(o => Kind(o) == "HorizontalPodAutoscaler").ToList();
        Assert.Equal(["a2f-controller", "api", "chat", "worker"], autoscalers.Select(Name).Order());
        foreach (var spec in autoscalers.Select(a => a.GetProperty("spec")))
        {
            Assert.Equal("2", spec.GetProperty("minReplicas").GetString());
            Assert.Equal("4", spec.GetProperty("maxReplicas").GetString());
            Assert.Equal("70", spec.GetProperty("metrics")[0].GetProperty("resource").GetProperty("target").GetProperty("averageUtilization").GetString());
        }
        foreach (var store in objects.Where(o => Kind(o) == "StatefulSet"))
        {
            Assert.Equal("data", store.GetProperty("spec").GetProperty("volumeClaimTemplates")[0].GetProperty("metadata").GetProperty("name").GetString());
            Assert.Contains(Container(store).GetProperty("volumeMounts").EnumerateArray(), m => m.GetProperty("name").GetString() == "data");
            Assert.Equal("999", store.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("securityContext").GetProperty("runAsUser").GetString());
            // The store's password reaches it: its env comes from its Secret.
            Assert.Contains(Container(store).GetProperty("envFrom").EnumerateArray(), e => e.TryGetProperty("secretRef", out _));
        }
        var postgres = objects.Single(o => Kind(o) == "StatefulSet" && Name(o) == "postgres");
        Assert.Contains(Container(postgres).GetProperty("volumeMounts").EnumerateArray(), m => m.GetProperty("mountPath").GetString() == "/var/lib/postgresql");
        var init = objects.Single(o => Kind(o) == "ConfigMap" && Name(o).StartsWith("postgres-init", StringComparison.Ordinal));
        Assert.Equal("CREATE DATABASE \"avatardb\";\n", init.GetProperty("data").GetProperty("create-databases.sql").GetString());
    }

    [Fact]
    public async Task TheOverlaysExposeNodePortsLocallyAnAlbInProdAndKedaForTheWorker()
    {
        var folder = published.OutputPath;

        var local = Parse(await KustomizeAsync(folder, "overlays/local"));
        Assert.Equal(["a2f-controller", "api", "chat"],
            local.Where(o => Kind(o) == "Service" && o.GetProperty("spec").TryGetProperty("type", out var t) && t.GetString() == "NodePort").Select(Name).Order());
        var localInference = local.Single(o => Kind(o) == "Deployment" && Name(o) == "a2f-inference");
        Assert.False(Container(localInference).GetProperty("resources").GetProperty("limits").TryGetProperty("nvidia.com/gpu", out _));
        Assert.False(localInference.GetProperty("spec").GetProperty("template").GetProperty("spec").TryGetProperty("nodeSelector", out _));

        var prod = Parse(await KustomizeAsync(folder, "overlays/prod"));
        Assert.All(prod.Where(o => Kind(o) != "Namespace"), o => Assert.Equal("avatar", o.GetProperty("metadata").GetProperty("namespace").GetString()));
        var ingresses = prod.Where(o => Kind(o) == "Ingress").ToList();
        Assert.All(ingresses, i => Assert.Equal("alb", i.GetProperty("spec").GetProperty("ingressClassName").GetString()));
        Assert.Equal("GRPC", ingresses.Single(i => Name(i) == "avatar-grpc").GetProperty("metadata").GetProperty("annotations")
            .GetProperty("alb.ingress.kubernetes.io/backend-protocol-version").GetString());
        Assert.StartsWith("registry.example.com/avatar/avatar-api:", Container(prod.Single(o => Name(o) == "api" && Kind(o) == "Deployment")).GetProperty("image").GetString());

        var keda = Parse(await KustomizeAsync(folder, "overlays/keda"));
        var scaledObject = keda.Single(o => Kind(o) == "ScaledObject");
        Assert.Equal("redis-streams", scaledObject.GetProperty("spec").GetProperty("triggers")[0].GetProperty("type").GetString());
        Assert.Equal("avatar:jobs", scaledObject.GetProperty("spec").GetProperty("triggers")[0].GetProperty("metadata").GetProperty("stream").GetString());
        Assert.DoesNotContain(keda, o => Kind(o) == "HorizontalPodAutoscaler" && Name(o) == "worker");
        Assert.Contains(keda, o => Kind(o) == "Secret" && Name(o) == "worker-redis");
    }

    [Fact]
    public async Task ChatGivesBrowsersTheApisIngressUrlAndItselfTheApisServiceUrl()
    {
        var objects = Parse(await KustomizeAsync(published.OutputPath, "."));

        var chat = objects.Single(o => Kind(o) == "ConfigMap" && Name(o).StartsWith("chat-env", StringComparison.Ordinal)).GetProperty("data");
        Assert.Equal("https://api.avatar.example.com", chat.GetProperty("Chat__PublicApiUrl").GetString());
        Assert.Equal("http://api:8080", chat.GetProperty("services__api__http__0").GetString());
    }

    [Fact]
    public async Task AConfiguredProviderKeyReachesOnlyChatsSecretAndAMissingOneIsNamed()
    {
        var manifest = Path.Combine(_folder, "aspire-manifest.json");
        const string Key = "sk-test-4f1c2b9e7d";
        // The AppHost declares the key's parameter only when it is configured; its value is not its to publish.
        var (exitCode, output) = await Commands.RunAsync("dotnet",
            ["run", "--project", Path.Combine(Repository.Root, "Avatar.AppHost"), "-c", Commands.Configuration, "--no-build", "--",
                "--publisher", "manifest", "--output-path", manifest],
            environment: new Dictionary<string, string> { ["Parameters__openai-api-key"] = Key, ["Chat__LlmProvider"] = "openai" });
        Assert.True(exitCode == 0, output);
        Assert.DoesNotContain(Key, File.ReadAllText(manifest), StringComparison.Ordinal);

        var withoutKey = Path.Combine(_folder, "without");
        (exitCode, output) = await Commands.GenerateAsync("--manifest", manifest, "--output", withoutKey);
        Assert.True(exitCode == 0, output);
        Assert.Contains("Parameter 'openai-api-key' has no value", output);

        var withKey = Path.Combine(_folder, "with");
        (exitCode, output) = await Commands.GenerateAsync("--manifest", manifest, "--output", withKey, "--Parameters:openai-api-key=" + Key);
        Assert.True(exitCode == 0, output);
        Assert.Contains($"Chat__OpenAi__ApiKey={Key}", File.ReadAllText(Path.Combine(withKey, "chat/chat.secret.env")), StringComparison.Ordinal);
        Assert.All(ManifestFiles(withKey), f => Assert.DoesNotContain(Key, File.ReadAllText(Path.Combine(withKey, f)), StringComparison.Ordinal));
        Assert.Contains("Chat__LlmProvider=openai", File.ReadAllText(Path.Combine(withKey, "chat/kustomization.yaml")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheGeneratorWithoutItsPathsSaysHowToCallIt()
    {
        var (exitCode, output) = await Commands.GenerateAsync();

        Assert.Equal(2, exitCode);
        Assert.Contains("--manifest <aspire-manifest.json> --output <folder>", output);
    }

    private async Task GenerateAsync(string output)
    {
        var (exitCode, log) = await Commands.GenerateAsync("--manifest", published.ManifestPath, "--output", output);
        Assert.True(exitCode == 0, log);
    }

    private static string Kind(JsonElement o) => o.GetProperty("kind").GetString()!;

    private static string Name(JsonElement o) => o.GetProperty("metadata").GetProperty("name").GetString()!;

    private static JsonElement Container(JsonElement workload)
        => workload.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers")[0];

    /// <summary>Every file the output commits: all but the *.secret.env files.</summary>
    private static List<string> ManifestFiles(string folder)
        => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".secret.env", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static Dictionary<string, string> AllFiles(string folder)
        => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllText);

    private static async Task<string> KustomizeAsync(string folder, string overlay)
    {
        var (exitCode, output) = await Commands.RunAsync("kubectl", ["kustomize", Path.Combine(folder, overlay)]);
        Assert.True(exitCode == 0, $"kubectl kustomize {overlay} failed:\n{output}");
        return output;
    }

    /// <summary>Every rendered object as JSON (scalars as strings, as YAML leaves them untyped).</summary>
    private static List<JsonElement> Parse(string yaml)
    {
        var deserializer = new DeserializerBuilder().Build();
        var json = new SerializerBuilder().JsonCompatible().Build();
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        var objects = new List<JsonElement>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var document = deserializer.Deserialize<object>(parser);
            objects.Add(JsonDocument.Parse(json.Serialize(document)).RootElement.Clone());
        }
        return objects;
    }
}
