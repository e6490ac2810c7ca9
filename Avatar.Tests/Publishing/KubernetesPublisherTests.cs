using System.Diagnostics;
using System.Text.Json;
using Avatar.Hosting.Publishing;
using Avatar.Hosting.Testing;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Avatar.Tests.Publishing;

public sealed class KubernetesPublisherTests : IDisposable
{
    private static readonly string[] s_overlays = [".", "overlays/local", "overlays/prod", "overlays/keda"];

    private readonly string _folder = Directory.CreateTempSubdirectory("avatar-kubernetes-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private async Task<string> PublishAsync()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Avatar_AppHost>();
        KubernetesPublisher.Write(builder.Resources, _folder);
        return _folder;
    }

    [Fact]
    public async Task TheCommittedManifestsAreWhatThePublisherWrites()
    {
        var published = await PublishAsync();
        var committed = Path.Combine(Repository.Root, "aspirate-output");

        var publishedFiles = ManifestFiles(published);
        Assert.Equal(publishedFiles, ManifestFiles(committed));
        foreach (var file in publishedFiles)
        {
            Assert.True(File.ReadAllText(Path.Combine(published, file)) == File.ReadAllText(Path.Combine(committed, file)),
                $"aspirate-output/{file} is not what the publisher writes now: run 'make publish' and commit the result.");
        }
    }

    [Fact]
    public async Task TheBaseAndEveryOverlayRenderAndKeepToTheKubernetesSchemas()
    {
        var folder = await PublishAsync();

        foreach (var overlay in s_overlays)
        {
            var rendered = Kustomize(folder, overlay);
            var (exitCode, output) = Run("node", Path.Combine(Repository.Root, "Avatar.Tests/Publishing/schema/validate.js"), rendered);
            Assert.True(exitCode == 0, $"{overlay} breaks the Kubernetes schemas:\n{output}");
            Assert.Equal(Parse(rendered).Count, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
    }

    [Fact]
    public async Task TheSchemaCheckCatchesAWrongTypeAndAnUnknownField()
    {
        var rendered = Kustomize(await PublishAsync(), ".")
            .Replace("containerPort: 8080", "containerPort: \"8080\"", StringComparison.Ordinal)
            .Replace("terminationGracePeriodSeconds:", "terminationGracePeriod:", StringComparison.Ordinal);

        var (exitCode, output) = Run("node", Path.Combine(Repository.Root, "Avatar.Tests/Publishing/schema/validate.js"), rendered);

        Assert.Equal(1, exitCode);
        Assert.Contains("containerPort type", output);
        Assert.Contains("terminationGracePeriod is not a field of the schema", output);
    }

    [Fact]
    public async Task PasswordsAreOnlyInSecretsAndIgnoredFiles()
    {
        var folder = await PublishAsync();
        var passwords = File.ReadLines(Path.Combine(folder, KubernetesPublisher.ParametersFile)).Select(l => l.Split('=', 2)[1]).ToList();
        Assert.Equal(2, passwords.Count);

        foreach (var overlay in s_overlays)
        {
            var objects = Parse(Kustomize(folder, overlay));
            foreach (var configMap in objects.Where(o => Kind(o) == "ConfigMap"))
            {
                Assert.All(passwords, p => Assert.DoesNotContain(p, configMap.ToString(), StringComparison.Ordinal));
            }
            var secretValues = objects.Where(o => Kind(o) == "Secret")
                .SelectMany(s => s.GetProperty("data").EnumerateObject())
                .Select(v => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(string.Concat(v.Value.GetString()!.Where(c => !char.IsWhiteSpace(c))))))
                .ToList();
            Assert.All(passwords, p => Assert.Contains(secretValues, v => v.Contains(p, StringComparison.Ordinal)));
        }
        foreach (var file in ManifestFiles(folder))
        {
            var text = File.ReadAllText(Path.Combine(folder, file));
            Assert.All(passwords, p => Assert.DoesNotContain(p, text, StringComparison.Ordinal));
        }
        var (_, ignored) = Run("git", $"-C {Repository.Root} check-ignore aspirate-output/{KubernetesPublisher.ParametersFile} aspirate-output/api/api.secret.env aspirate-output/overlays/keda/keda.secret.env");
        Assert.Equal(3, ignored.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task PublishingAgainKeepsThePasswords()
    {
        var folder = await PublishAsync();
        var first = File.ReadAllText(Path.Combine(folder, "postgres/postgres.secret.env"));

        await PublishAsync();

        Assert.Equal(first, File.ReadAllText(Path.Combine(folder, "postgres/postgres.secret.env")));
        Assert.Contains(first.Trim().Split('=', 2)[1], File.ReadAllText(Path.Combine(folder, "api/api.secret.env")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryLongRunningContainerHasRequestsLimitsAndBothProbes()
    {
        var objects = Parse(Kustomize(await PublishAsync(), "."));

        var workloads = objects.Where(o => Kind(o) is "Deployment" or "StatefulSet").ToList();
        Assert.Equal(["a2f-controller", "a2f-inference", "api", "chat", "postgres", "redis", "worker"], workloads.Select(Name).Order());
        foreach (var container in workloads.Select(Container))
        {
            var resources = container.GetProperty("resources");
            Assert.True(resources.GetProperty("requests").TryGetProperty("cpu", out _) && resources.GetProperty("requests").TryGetProperty("memory", out _));
            Assert.True(resources.GetProperty("limits").TryGetProperty("cpu", out _) && resources.GetProperty("limits").TryGetProperty("memory", out _));
            Assert.True(container.TryGetProperty("readinessProbe", out _), $"{container.GetProperty("name")} has no readiness probe");
            Assert.True(container.TryGetProperty("livenessProbe", out _), $"{container.GetProperty("name")} has no liveness probe");
        }
        var api = Container(workloads.Single(w => Name(w) == "api"));
        Assert.Equal("/health", api.GetProperty("readinessProbe").GetProperty("httpGet").GetProperty("path").GetString());
        Assert.Equal("/alive", api.GetProperty("livenessProbe").GetProperty("httpGet").GetProperty("path").GetString());
        Assert.Equal("52010", Container(workloads.Single(w => Name(w) == "a2f-controller")).GetProperty("readinessProbe").GetProperty("grpc").GetProperty("port").GetString());
        var job = objects.Single(o => Kind(o) == "Job");
        Assert.Equal("migrations", Name(job));
        Assert.Equal(["migrate"], Container(job).GetProperty("args").EnumerateArray().Select(a => a.GetString()));
    }

    [Fact]
    public async Task InferenceAsksForAGpuOnTheGpuNodesAndTheA2FPortsAreNvidias()
    {
        var objects = Parse(Kustomize(await PublishAsync(), "."));

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
    }

    [Fact]
    public async Task StatelessServicesScaleOnCpuAndTheDataStoresAreStatefulSetsWithVolumes()
    {
        var objects = Parse(Kustomize(await PublishAsync(), "."));

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
        }
    }

    [Fact]
    public async Task TheOverlaysExposeNodePortsLocallyAnAlbInProdAndKedaForTheWorker()
    {
        var folder = await PublishAsync();

        var local = Parse(Kustomize(folder, "overlays/local"));
        Assert.Equal(["a2f-controller", "api", "chat"],
            local.Where(o => Kind(o) == "Service" && o.GetProperty("spec").TryGetProperty("type", out var t) && t.GetString() == "NodePort").Select(Name).Order());
        var localInference = local.Single(o => Kind(o) == "Deployment" && Name(o) == "a2f-inference");
        Assert.False(Container(localInference).GetProperty("resources").GetProperty("limits").TryGetProperty("nvidia.com/gpu", out _));

        var prod = Parse(Kustomize(folder, "overlays/prod"));
        Assert.All(prod.Where(o => Kind(o) != "Namespace"), o => Assert.Equal("avatar", o.GetProperty("metadata").GetProperty("namespace").GetString()));
        var ingresses = prod.Where(o => Kind(o) == "Ingress").ToList();
        Assert.All(ingresses, i => Assert.Equal("alb", i.GetProperty("spec").GetProperty("ingressClassName").GetString()));
        Assert.Equal("GRPC", ingresses.Single(i => Name(i) == "avatar-grpc").GetProperty("metadata").GetProperty("annotations")
            .GetProperty("alb.ingress.kubernetes.io/backend-protocol-version").GetString());
        Assert.StartsWith("registry.example.com/avatar/avatar-api:", Container(prod.Single(o => Name(o) == "api" && Kind(o) == "Deployment")).GetProperty("image").GetString());

        var keda = Parse(Kustomize(folder, "overlays/keda"));
        var scaledObject = keda.Single(o => Kind(o) == "ScaledObject");
        Assert.Equal("redis-streams", scaledObject.GetProperty("spec").GetProperty("triggers")[0].GetProperty("type").GetString());
        Assert.DoesNotContain(keda, o => Kind(o) == "HorizontalPodAutoscaler" && Name(o) == "worker");
        Assert.Contains(keda, o => Kind(o) == "Secret" && Name(o) == "worker-redis");
    }

    private static string Kind(JsonElement o) => o.GetProperty("kind").GetString()!;

    private static string Name(JsonElement o) => o.GetProperty("metadata").GetProperty("name").GetString()!;

    private static JsonElement Container(JsonElement workload)
        => workload.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers")[0];

    private static List<string> ManifestFiles(string folder)
        => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".secret.env", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static string Kustomize(string folder, string overlay)
    {
        var (exitCode, output) = Run("kubectl", $"kustomize {Path.Combine(folder, overlay)}");
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

    private static (int ExitCode, string Output) Run(string command, string arguments, string? input = null)
    {
        var info = new ProcessStartInfo(command, arguments)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            process.StandardInput.Write(input);
        }
        process.StandardInput.Close();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
