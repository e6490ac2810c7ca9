using System.Diagnostics.Metrics;
using Avatar.A2F.Inference.LipSync;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Avatar.A2F.Inference.Service;

/// <summary>
/// Which lip-sync model a replica runs, where operators look: the health check's description and data, and a gauge
/// <c>avatar.lipsync.model</c> (always 1) tagged with the version and hash, so dashboards can split any metric by model
/// during a rollout.
/// </summary>
internal sealed class LipSyncModelHealth : IHealthCheck, IDisposable
{
    public const string MeterName = "Avatar.A2F.Inference";

    private readonly OnnxVisemeModel _model;
    private readonly Meter _meter;

    public LipSyncModelHealth(OnnxVisemeModel model, IMeterFactory meters)
    {
        _model = model;
        _meter = meters.Create(MeterName);
        _meter.CreateObservableGauge("avatar.lipsync.model", () => new Measurement<int>(1,
            new("model.version", model.Version), new("model.sha256", model.Sha256), new("model.device", model.RunsOnCuda ? "cuda" : "cpu")),
            description: "The lip-sync model this replica runs (1), by version and hash.");
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Healthy($"lip-sync model {_model.Version} (sha256 {_model.Sha256}) on {(_model.RunsOnCuda ? "CUDA" : "the CPU")}",
            new Dictionary<string, object> { ["version"] = _model.Version, ["sha256"] = _model.Sha256, ["cuda"] = _model.RunsOnCuda }));

    public void Dispose() => _meter.Dispose();
}
