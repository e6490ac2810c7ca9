using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Avatar.A2F.Contracts;
using Avatar.A2F.Inference.LipSync;
using Avatar.A2F.Inference.Service;
using Avatar.Espeak;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace Avatar.Tests.LipSync;

/// <summary>How the inference service loads its model: on CUDA when asked for and possible, else on the CPU, saying why.</summary>
public sealed class LipSyncModelLoadingTests
{
    private static readonly string s_modelCategory = typeof(OnnxVisemeModel).FullName!;

    [Fact]
    public void WithCudaAskedForTheModelRunsWhereItCanAndOneLineSaysWhereAndWhy()
    {
        var log = new LogCapture();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(log));

        using var model = OnnxVisemeModel.Load(LipSyncCommands.DefaultModelPath, useCuda: true, loggers);

        var line = Assert.Single(log.Entries, e => e.Category == s_modelCategory);
        if (model.RunsOnCuda)
        {
            Assert.Equal(LogLevel.Information, line.Level);
            Assert.Contains("CUDA device 0", line.Message);
        }
        else
        {
            Assert.Equal(LogLevel.Warning, line.Level);
            Assert.Matches("runs on the CPU: .{10,}", line.Message);
            if (!OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
            {
                Assert.Contains("-p:OnnxRuntimeGpu=true", line.Message);
            }
        }
        using var cpu = new OnnxVisemeModel(LipSyncCommands.DefaultModelPath);
        VisemeModelAssert.Agree(cpu, model, rows: 5, seed: 7);
    }

    [Fact]
    public void WithoutCudaTheModelRunsOnTheCpuAndSaysSo()
    {
        var log = new LogCapture();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(log));

        using var model = OnnxVisemeModel.Load(LipSyncCommands.DefaultModelPath, useCuda: false, loggers);

        Assert.False(model.RunsOnCuda);
        var line = Assert.Single(log.Entries, e => e.Category == s_modelCategory);
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Contains("runs on the CPU", line.Message);
    }

    [Fact]
    public void ABadModelFileFailsTheLoadEvenWithCudaAskedForAndNoFallbackIsClaimed()
    {
        var path = Path.Combine(Path.GetTempPath(), $"garbage-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, "not a model"u8.ToArray());
        var log = new LogCapture();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(log));
        try
        {
            var garbage = Assert.Throws<InvalidDataException>(() => OnnxVisemeModel.Load(path, useCuda: true, loggers));
            var missing = Assert.Throws<FileNotFoundException>(() => OnnxVisemeModel.Load(path + ".missing", useCuda: true, loggers));

            Assert.Contains(path, garbage.Message);
            Assert.Contains("InvalidProtobuf", garbage.Message);
            Assert.Contains(path + ".missing", missing.Message);
            Assert.DoesNotContain(log.Entries, e => e.Category == s_modelCategory && e.Level >= LogLevel.Warning);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task WithCudaAskedForTheServiceLoadsItsModelLogsWhereItRunsAndInfersSpeech()
    {
        var log = new LogCapture();
        var builder = TestWebHost.CreateBuilder();
        builder.Configuration["A2F:UseCuda"] = "true";
        builder.Logging.ClearProviders().AddProvider(log);
        builder.AddInferenceServices();
        await using var app = builder.Build();

        // What the service's start does: a model that cannot be loaded fails here, before any stream.
        var model = app.Services.GetRequiredService<BatchingVisemeModel>();
        var clip = SpeechCorpus.Speak("Papa bought my mom a map of the bay.", new SpeechOptions("en-us"));
        var frames = new List<BlendFrame>();
        var stream = new LipSyncStream(model, 16000);
        await stream.PushAsync(clip.Samples, frames);
        await stream.CompleteAsync(frames);

        Assert.Single(log.Entries, e => e.Category == s_modelCategory);
        var jawOpen = BlendShapes.Names.ToList().IndexOf("JawOpen");
        Assert.True(frames.Max(f => f.Weights[jawOpen]) > 0.3, "the jaw should open on speech");
        Assert.True(model.Statistics.Runs > 0);
    }

    [Fact]
    public async Task TheServiceReportsItsModelsVersionAndHashInItsLogHealthAndMetrics()
    {
        var log = new LogCapture();
        var builder = TestWebHost.CreateBuilder();
        builder.Logging.ClearProviders().AddProvider(log);
        builder.Services.AddMetrics();
        builder.AddInferenceServices();
        await using var app = builder.Build();
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(LipSyncCommands.DefaultModelPath)))[..12];
        var tags = new ConcurrentBag<KeyValuePair<string, object?>>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "avatar.lipsync.model")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, _, measured, _) => { foreach (var tag in measured) { tags.Add(tag); } });
        listener.Start();

        var health = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        listener.RecordObservableInstruments();

        var model = health.Entries["lipsync-model"];
        Assert.Equal(HealthStatus.Healthy, model.Status);
        Assert.Equal(OnnxVisemeModel.CurrentVersion, model.Data["version"]);
        Assert.Equal(hash, model.Data["sha256"]);
        Assert.Contains(log.Entries, e => e.Category == s_modelCategory && e.Message.Contains(hash) && e.Message.Contains(OnnxVisemeModel.CurrentVersion));
        Assert.Contains(new KeyValuePair<string, object?>("model.version", OnnxVisemeModel.CurrentVersion), tags);
        Assert.Contains(new KeyValuePair<string, object?>("model.sha256", hash), tags);
    }

    [Fact]
    public async Task TheModelPathSettingLoadsAnotherModel()
    {
        using var file = new TemporaryFile(OnnxVisemeModel.Export(new LipSyncNetwork()));
        var builder = TestWebHost.CreateBuilder();
        builder.Configuration["A2F:ModelPath"] = file.Path;
        builder.AddInferenceServices();
        await using var app = builder.Build();

        var model = app.Services.GetRequiredService<OnnxVisemeModel>();
        using var shipped = new OnnxVisemeModel(LipSyncCommands.DefaultModelPath);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file.Path)))[..12], model.Sha256);
        Assert.NotEqual(shipped.Sha256, model.Sha256);
    }

    [Fact]
    public void AModelBuiltForAnotherFeatureWindowIsRefusedAtLoadSayingWhy()
    {
        var onnx = global::Onnx.ModelProto.Parser.ParseFrom(OnnxVisemeModel.Export(new LipSyncNetwork()));
        onnx.MetadataProps.Single(p => p.Key == "avatar.lipsync.context").Value = "past 5, future 5 frames of 10 ms";
        using var file = new TemporaryFile(Google.Protobuf.MessageExtensions.ToByteArray(onnx));

        var error = Assert.Throws<InvalidDataException>(() => OnnxVisemeModel.Load(file.Path, useCuda: false, NullLoggerFactory.Instance));

        Assert.Contains(file.Path, error.Message);
        Assert.Contains("another feature window (past 5, future 5", error.Message);
    }

    [Fact]
    public void AModelOfTheRightShapeWithBrokenWeightsIsRefusedAtLoadSayingWhy()
    {
        var network = new LipSyncNetwork();
        network.W3.AsSpan().Fill(float.NaN);
        using var file = new TemporaryFile(OnnxVisemeModel.Export(network));

        var error = Assert.Throws<InvalidDataException>(() => OnnxVisemeModel.Load(file.Path, useCuda: false, NullLoggerFactory.Instance));

        Assert.Contains(file.Path, error.Message);
        Assert.Contains("no working lip-sync model: it gives NaN for a silent probe window", error.Message);
    }

    private sealed class LogCapture : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(LogCapture capture, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                capture.Entries.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}
