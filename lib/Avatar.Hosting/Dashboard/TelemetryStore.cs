using System.Globalization;
using Avatar.Hosting.Dashboard.Otlp;
using Google.Protobuf;

namespace Avatar.Hosting.Dashboard;

/// <summary>One received span.</summary>
internal sealed record SpanItem(string TraceId, string SpanId, string? ParentSpanId, string Service, string Name, int Kind,
    ulong StartUnixNano, ulong EndUnixNano, int StatusCode, string? StatusMessage, IReadOnlyDictionary<string, string> Attributes);

/// <summary>One received log record.</summary>
internal sealed record LogItem(ulong TimeUnixNano, string Service, int SeverityNumber, string Severity, string Body,
    string? TraceId, string? SpanId, string Category, IReadOnlyDictionary<string, string> Attributes);

/// <summary>One point of a metric series.</summary>
internal sealed record MetricPoint(ulong TimeUnixNano, double Value);

/// <summary>One instrument's series: a service, a metric and one attribute set.</summary>
internal sealed class MetricSeries(string service, string name, string unit, string description, string kind, string attributes)
{
    public string Service { get; } = service;
    public string Name { get; } = name;
    public string Unit { get; } = unit;
    public string Description { get; } = description;
    public string Kind { get; } = kind;
    public string Attributes { get; } = attributes;
    public Queue<MetricPoint> Points { get; } = new();
}

/// <summary>
/// Telemetry received over OTLP, in bounded memory: each kind drops its oldest items first when full,
/// so a chatty service cannot grow the AppHost without limit.
/// </summary>
internal sealed class TelemetryStore(int maxSpans, int maxLogRecords, int maxPointsPerSeries, int maxSeries = 2000)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<SpanItem> _spans = new();
    private readonly Queue<LogItem> _logs = new();
    private readonly Dictionary<string, MetricSeries> _series = new(StringComparer.Ordinal);
    private readonly Queue<string> _seriesOrder = new();

    public void Add(ExportTraceServiceRequest request)
    {
        List<SpanItem> items = [];
        foreach (var rs in request.ResourceSpans)
        {
            var service = ServiceName(rs.Resource);
            foreach (var ss in rs.ScopeSpans)
            {
                foreach (var s in ss.Spans)
                {
                    items.Add(new SpanItem(Hex(s.TraceId), Hex(s.SpanId), s.ParentSpanId.IsEmpty ? null : Hex(s.ParentSpanId), service,
                        s.Name, s.Kind, s.StartTimeUnixNano, s.EndTimeUnixNano, s.Status?.Code ?? 0, s.Status?.Message, Flatten(s.Attributes)));
                }
            }
        }
        lock (_gate)
        {
            foreach (var item in items)
            {
                if (_spans.Count == maxSpans)
                {
                    _spans.RemoveFirst();
                }
                _spans.AddLast(item);
            }
        }
    }

    public void Add(ExportLogsServiceRequest request)
    {
        List<LogItem> items = [];
        foreach (var rl in request.ResourceLogs)
        {
            var service = ServiceName(rl.Resource);
            foreach (var sl in rl.ScopeLogs)
            {
                foreach (var r in sl.LogRecords)
                {
                    var time = r.TimeUnixNano != 0 ? r.TimeUnixNano : r.ObservedTimeUnixNano;
                    items.Add(new LogItem(time, service, r.SeverityNumber, SeverityName(r.SeverityNumber, r.SeverityText),
                        r.Body is null ? "" : Text(r.Body), r.TraceId.IsEmpty ? null : Hex(r.TraceId), r.SpanId.IsEmpty ? null : Hex(r.SpanId),
                        sl.Scope?.Name ?? "", Flatten(r.Attributes)));
                }
            }
        }
        lock (_gate)
        {
            foreach (var item in items)
            {
                if (_logs.Count == maxLogRecords)
                {
                    _logs.Dequeue();
                }
                _logs.Enqueue(item);
            }
        }
    }

    public void Add(ExportMetricsServiceRequest request)
    {
        lock (_gate)
        {
            foreach (var rm in request.ResourceMetrics)
            {
                var service = ServiceName(rm.Resource);
                foreach (var sm in rm.ScopeMetrics)
                {
                    foreach (var m in sm.Metrics)
                    {
                        switch (m.DataCase)
                        {
                            case Metric.DataOneofCase.Gauge:
                                foreach (var p in m.Gauge.DataPoints) AddPoint(service, m, "gauge", p.Attributes, p.TimeUnixNano, Number(p));
                                break;
                            case Metric.DataOneofCase.Sum:
                                foreach (var p in m.Sum.DataPoints) AddPoint(service, m, "sum", p.Attributes, p.TimeUnixNano, Number(p));
                                break;
                            case Metric.DataOneofCase.Histogram:
                                // A histogram is charted by its mean; the buckets stay with the exporter.
                                foreach (var p in m.Histogram.DataPoints)
                                    AddPoint(service, m, "histogram", p.Attributes, p.TimeUnixNano, p.Count == 0 ? 0 : p.Sum / p.Count);
                                break;
                        }
                    }
                }
            }
        }
    }

    private void AddPoint(string service, Metric metric, string kind, IEnumerable<KeyValue> attributes, ulong time, double value)
    {
        var attrs = string.Join(", ", Flatten(attributes).OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}"));
        var key = $"{service}\n{metric.Name}\n{attrs}";
        if (!_series.TryGetValue(key, out var series))
        {
            if (_seriesOrder.Count == maxSeries)
            {
                _series.Remove(_seriesOrder.Dequeue());
            }
            _series[key] = series = new MetricSeries(service, metric.Name, metric.Unit, metric.Description, kind, attrs);
            _seriesOrder.Enqueue(key);
        }
        if (series.Points.Count == maxPointsPerSeries)
        {
            series.Points.Dequeue();
        }
        series.Points.Enqueue(new MetricPoint(time, value));
    }

    public IReadOnlyList<SpanItem> Spans(Func<SpanItem, bool> filter)
    {
        lock (_gate) { return [.. _spans.Where(filter)]; }
    }

    public IReadOnlyList<LogItem> Logs(Func<LogItem, bool> filter)
    {
        lock (_gate) { return [.. _logs.Where(filter)]; }
    }

    public IReadOnlyList<(MetricSeries Series, MetricPoint[] Points)> Metrics(string? service)
    {
        lock (_gate)
        {
            return [.. _series.Values
                .Where(s => service is null || string.Equals(s.Service, service, StringComparison.OrdinalIgnoreCase))
                .Select(s => (s, s.Points.ToArray()))];
        }
    }

    private static double Number(NumberDataPoint p) => p.ValueCase == NumberDataPoint.ValueOneofCase.AsInt ? p.AsInt : p.AsDouble;

    private static string ServiceName(Otlp.Resource? resource) =>
        resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value is { } v ? Text(v) : "unknown_service";

    private static Dictionary<string, string> Flatten(IEnumerable<KeyValue> attributes)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var a in attributes)
        {
            result[a.Key] = a.Value is null ? "" : Text(a.Value);
        }
        return result;
    }

    private static string Text(AnyValue v) => v.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => v.StringValue,
        AnyValue.ValueOneofCase.BoolValue => v.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => v.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => v.DoubleValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BytesValue => Convert.ToBase64String(v.BytesValue.Span),
        AnyValue.ValueOneofCase.ArrayValue => "[" + string.Join(", ", v.ArrayValue.Values.Select(Text)) + "]",
        AnyValue.ValueOneofCase.KvlistValue => "{" + string.Join(", ", v.KvlistValue.Values.Select(kv => $"{kv.Key}: {(kv.Value is null ? "" : Text(kv.Value))}")) + "}",
        _ => "",
    };

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    // OTLP severity numbers come in bands of four per level (1-4 trace ... 21-24 fatal).
    private static string SeverityName(int number, string text) => number switch
    {
        >= 21 => "Critical",
        >= 17 => "Error",
        >= 13 => "Warning",
        >= 9 => "Information",
        >= 5 => "Debug",
        >= 1 => "Trace",
        _ => string.IsNullOrEmpty(text) ? "Unspecified" : text,
    };
}
