using Avatar.Hosting.Orchestration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Avatar.Hosting.Dashboard;

public sealed partial class DashboardServer
{
    private const int MaxItemsPerResponse = 1000;

    private void MapApi(WebApplication web)
    {
        web.MapGet("/api/resources", () => Results.Json(_app.ResourceNotifications.Current
            .OrderBy(s => IndexOf(s.Name))
            .Select(s => new
            {
                name = s.Name,
                type = s.Type,
                state = s.State,
                health = s.Healthy ? "Healthy" : s.State == KnownResourceStates.Running ? "Unhealthy" : "",
                endpoints = s.Endpoints,
                restarts = s.Restarts,
                replicas = s.Replicas.Select(r => new { name = r.Name, state = r.State, pid = r.Pid, port = r.Port, restarts = r.Restarts, exitCode = r.ExitCode, healthy = r.Healthy }),
                environment = Environment(s.Name),
            })));

        web.MapPost("/api/resources/{name}/{action}", async (string name, string action) =>
        {
            if (!_app.Resources.Any(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                return Results.NotFound(new { error = $"No resource named '{name}'." });
            }
            switch (action)
            {
                case "stop":
                    await _app.StopResourceAsync(name).ConfigureAwait(false);
                    break;
                case "start":
                    await _app.StartResourceAsync(name).ConfigureAwait(false);
                    break;
                case "restart":
                    await _app.StopResourceAsync(name).ConfigureAwait(false);
                    await _app.StartResourceAsync(name).ConfigureAwait(false);
                    break;
                default:
                    return Results.BadRequest(new { error = $"Unknown action '{action}': use stop, start or restart." });
            }
            return Results.Json(new { name, action });
        });

        web.MapGet("/api/console/{resource}", (string resource) => Results.Json(_app.ConsoleLogs.Get(resource)
            .TakeLast(MaxItemsPerResponse)
            .Select(l => new { source = l.Source, timestamp = l.Timestamp, text = l.Text, isError = l.IsError })));

        web.MapGet("/api/logs", (string? resource, string? level, string? text) =>
        {
            var minimum = level is null ? 0 : LevelNumber(level);
            return Results.Json(Telemetry.Logs(l =>
                    (resource is null || string.Equals(l.Service, resource, StringComparison.OrdinalIgnoreCase))
                    && l.SeverityNumber >= minimum
                    && (text is null || l.Body.Contains(text, StringComparison.OrdinalIgnoreCase)))
                .TakeLast(MaxItemsPerResponse)
                .Select(l => new
                {
                    timestamp = Time(l.TimeUnixNano), resource = l.Service, level = l.Severity, severityNumber = l.SeverityNumber,
                    message = l.Body, category = l.Category, traceId = l.TraceId, spanId = l.SpanId, attributes = l.Attributes,
                }));
        });

        web.MapGet("/api/traces", (string? service) =>
        {
            var spans = Telemetry.Spans(_ => true);
            var traces = spans.GroupBy(s => s.TraceId)
                .Where(g => service is null || g.Any(s => string.Equals(s.Service, service, StringComparison.OrdinalIgnoreCase)))
                .Select(g =>
                {
                    var root = g.FirstOrDefault(s => s.ParentSpanId is null || !g.Any(p => p.SpanId == s.ParentSpanId)) ?? g.First();
                    var start = g.Min(s => s.StartUnixNano);
                    return new
                    {
                        traceId = g.Key, name = $"{root.Service}: {root.Name}", start = Time(start), startUnixNano = start,
                        durationMs = (g.Max(s => s.EndUnixNano) - start) / 1e6, spans = g.Count(),
                        services = g.Select(s => s.Service).Distinct().ToList(), error = g.Any(s => s.StatusCode == 2),
                    };
                })
                .OrderByDescending(t => t.startUnixNano)
                .Take(MaxItemsPerResponse);
            return Results.Json(traces);
        });

        web.MapGet("/api/traces/{traceId}", (string traceId) =>
        {
            var spans = Telemetry.Spans(s => string.Equals(s.TraceId, traceId, StringComparison.OrdinalIgnoreCase));
            if (spans.Count == 0)
            {
                return Results.NotFound(new { error = $"No trace {traceId}." });
            }
            var start = spans.Min(s => s.StartUnixNano);
            return Results.Json(new
            {
                traceId,
                durationMs = (spans.Max(s => s.EndUnixNano) - start) / 1e6,
                spans = spans.OrderBy(s => s.StartUnixNano).Select(s => new
                {
                    spanId = s.SpanId, parentSpanId = s.ParentSpanId, service = s.Service, name = s.Name, kind = s.Kind,
                    offsetMs = (s.StartUnixNano - start) / 1e6, durationMs = (s.EndUnixNano - s.StartUnixNano) / 1e6,
                    status = s.StatusCode switch { 1 => "Ok", 2 => "Error", _ => "Unset" }, statusMessage = s.StatusMessage,
                    attributes = s.Attributes,
                }),
            });
        });

        web.MapGet("/api/metrics", (string? service) => Results.Json(Telemetry.Metrics(service)
            .GroupBy(m => (m.Series.Service, m.Series.Name))
            .Select(g => new
            {
                service = g.Key.Service, name = g.Key.Name, unit = g.First().Series.Unit, description = g.First().Series.Description,
                kind = g.First().Series.Kind,
                series = g.Select(s => new { attributes = s.Series.Attributes, points = s.Points.Select(p => new { t = p.TimeUnixNano / 1_000_000, v = p.Value }) }),
            })));
    }

    private int IndexOf(string name)
    {
        for (var i = 0; i < _app.Resources.Count; i++)
        {
            if (string.Equals(_app.Resources[i].Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return int.MaxValue;
    }

    private static DateTimeOffset Time(ulong unixNano) => DateTimeOffset.FromUnixTimeMilliseconds((long)(unixNano / 1_000_000));

    private static int LevelNumber(string level) => level.ToLowerInvariant() switch
    {
        "trace" => 1,
        "debug" => 5,
        "information" or "info" => 9,
        "warning" or "warn" => 13,
        "error" => 17,
        "critical" or "fatal" => 21,
        _ => 0,
    };
}
