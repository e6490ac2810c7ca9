using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Avatar.Grpc;
using Avatar.Hosting.ApplicationModel;
using Avatar.Hosting.Dashboard.Otlp;
using Avatar.Hosting.Orchestration;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using HttpProtocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols;
using Microsoft.Extensions.Logging;

namespace Avatar.Hosting.Dashboard;

/// <summary>
/// The AppHost's dashboard: resource states and actions, console output, and the traces, logs and metrics services
/// send it over OTLP (gRPC or HTTP/protobuf). Pages and API need the browser token (login URL cookie or bearer header);
/// the OTLP ports take no token, as they listen on loopback only.
/// </summary>
public sealed partial class DashboardServer : IAsyncDisposable
{
    private const string CookieName = "avatar_dashboard";
    private const int MaxOtlpBody = 16 * 1024 * 1024;
    private readonly DistributedApplication _app;
    private readonly DistributedApplicationOptions _options;
    private readonly byte[] _token;
    private WebApplication? _web;

    internal DashboardServer(DistributedApplication app, DistributedApplicationOptions options)
    {
        _app = app;
        _options = options;
        BrowserToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _token = Encoding.ASCII.GetBytes(BrowserToken);
        Telemetry = new TelemetryStore(options.DashboardMaxSpans, options.DashboardMaxLogRecords, options.DashboardMaxMetricPointsPerSeries);
    }

    /// <summary>The secret that unlocks the pages and the API.</summary>
    public string BrowserToken { get; }

    /// <summary>The dashboard's address (pages and JSON API).</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The OTLP/HTTP receiver's address.</summary>
    public Uri OtlpHttpUrl { get; private set; } = null!;

    /// <summary>The OTLP/gRPC receiver's address; services get it as OTEL_EXPORTER_OTLP_ENDPOINT, as in Aspire.</summary>
    public Uri OtlpGrpcUrl { get; private set; } = null!;

    /// <summary>Opens the dashboard in a browser and logs in (sets the cookie).</summary>
    public Uri LoginUrl => new(Url, $"login?t={BrowserToken}");

    internal TelemetryStore Telemetry { get; }

    internal async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        // The dashboard is configured here alone: an appsettings.json or ASPNETCORE_URLS of the host process (a test
        // output folder holds the services' files, with their Kestrel endpoints) must not add listeners to it.
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, _options.DashboardPort);
            k.Listen(IPAddress.Loopback, _options.DashboardOtlpHttpPort);
            k.Listen(IPAddress.Loopback, _options.DashboardOtlpGrpcPort, l => l.Protocols = HttpProtocols.Http2);
            k.Limits.MaxRequestBodySize = MaxOtlpBody;
        });
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = MaxOtlpBody);
        var web = builder.Build();
        web.Use(GuardAsync);
        MapOtlp(web);
        MapApi(web);
        MapPages(web);
        await web.StartAsync(cancellationToken).ConfigureAwait(false);
        _web = web;
        var ports = web.Urls.Select(u => new Uri(u).Port).ToList();
        // Port 0 asks for a free port: Kestrel reports them in the order they were configured.
        Url = new Uri($"http://localhost:{ports[0]}/");
        OtlpHttpUrl = new Uri($"http://localhost:{ports[1]}");
        OtlpGrpcUrl = new Uri($"http://localhost:{ports[2]}");
    }

    private bool IsOtlpPort(HttpContext context) => context.Connection.LocalPort == OtlpHttpUrl.Port;

    private async Task GuardAsync(HttpContext context, RequestDelegate next)
    {
        // The gRPC port serves gRPC calls and nothing else: not the pages, not the token-guarded API.
        var onGrpcPort = context.Connection.LocalPort == OtlpGrpcUrl.Port;
        var isGrpc = context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;
        if (onGrpcPort || isGrpc)
        {
            if (onGrpcPort && isGrpc)
            {
                await next(context).ConfigureAwait(false);
                return;
            }
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (IsOtlpPort(context))
        {
            if (context.Request.Path.StartsWithSegments("/v1"))
            {
                await next(context).ConfigureAwait(false);
                return;
            }
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (context.Request.Path.StartsWithSegments("/v1"))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (context.Request.Path == "/login")
        {
            if (Matches(context.Request.Query["t"].ToString()))
            {
                context.Response.Cookies.Append(CookieName, BrowserToken, new CookieOptions
                {
                    HttpOnly = true,
                    SameSite = SameSiteMode.Strict,
                    Path = "/",
                    IsEssential = true,
                });
                context.Response.Redirect("/");
                return;
            }
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await WriteLoginPageAsync(context).ConfigureAwait(false);
            return;
        }
        var bearer = context.Request.Headers.Authorization.ToString();
        var presented = bearer.StartsWith("Bearer ", StringComparison.Ordinal) ? bearer[7..].Trim() : context.Request.Cookies[CookieName];
        if (!Matches(presented))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            if (context.Request.Path.StartsWithSegments("/api"))
            {
                await context.Response.WriteAsJsonAsync(new { error = "A browser token is needed: open the login URL the AppHost printed, or send Authorization: Bearer <token>." }).ConfigureAwait(false);
            }
            else
            {
                await WriteLoginPageAsync(context).ConfigureAwait(false);
            }
            return;
        }
        await next(context).ConfigureAwait(false);
    }

    private bool Matches(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(presented), _token);

    private static Task WriteLoginPageAsync(HttpContext context)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(
            "<!doctype html><html><head><meta charset=utf-8><title>Avatar dashboard: login</title></head><body>" +
            "<h1>Avatar dashboard</h1><p>Open the login URL the AppHost printed at start (<code>/login?t=...</code>).</p></body></html>");
    }

    private void MapOtlp(WebApplication web)
    {
        web.MapPost("/v1/traces", context => ReceiveAsync(context, ExportTraceServiceRequest.Parser, r => Telemetry.Add(r), new ExportTraceServiceResponse()));
        web.MapPost("/v1/logs", context => ReceiveAsync(context, ExportLogsServiceRequest.Parser, r => Telemetry.Add(r), new ExportLogsServiceResponse()));
        web.MapPost("/v1/metrics", context => ReceiveAsync(context, ExportMetricsServiceRequest.Parser, r => Telemetry.Add(r), new ExportMetricsServiceResponse()));

        // OTLP/gRPC: the collector services' Export methods (opentelemetry-proto's collector/*/v1/*_service.proto).
        web.MapGrpcService(new ServiceDefinitionBuilder()
            .AddUnary(Export("trace", "TraceService", ExportTraceServiceRequest.Parser, ExportTraceServiceResponse.Parser),
                (request, _) => { Telemetry.Add(request); return Task.FromResult(new ExportTraceServiceResponse()); })
            .AddUnary(Export("logs", "LogsService", ExportLogsServiceRequest.Parser, ExportLogsServiceResponse.Parser),
                (request, _) => { Telemetry.Add(request); return Task.FromResult(new ExportLogsServiceResponse()); })
            .AddUnary(Export("metrics", "MetricsService", ExportMetricsServiceRequest.Parser, ExportMetricsServiceResponse.Parser),
                (request, _) => { Telemetry.Add(request); return Task.FromResult(new ExportMetricsServiceResponse()); })
            .Build());
    }

    private static Method<TRequest, TResponse> Export<TRequest, TResponse>(string signal, string service,
        MessageParser<TRequest> request, MessageParser<TResponse> response)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>
        => new(MethodType.Unary, $"opentelemetry.proto.collector.{signal}.v1.{service}", "Export",
            Marshallers.Protobuf(request), Marshallers.Protobuf(response));

    private static async Task ReceiveAsync<T>(HttpContext context, MessageParser<T> parser, Action<T> add, IMessage response) where T : IMessage<T>
    {
        var contentType = context.Request.ContentType ?? "";
        if (!contentType.StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            await context.Response.WriteAsync("OTLP/HTTP here takes application/x-protobuf only.").ConfigureAwait(false);
            return;
        }
        T request;
        try
        {
            var body = context.Request.Body;
            if (string.Equals(context.Request.Headers.ContentEncoding, "gzip", StringComparison.OrdinalIgnoreCase))
            {
                body = new GZipStream(body, CompressionMode.Decompress);
            }
            using var buffer = new MemoryStream();
            await CopyBoundedAsync(body, buffer, context.RequestAborted).ConfigureAwait(false);
            buffer.Position = 0;
            request = parser.ParseFrom(buffer);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidDataException or BadHttpRequestException)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"Malformed OTLP request: {e.Message}").ConfigureAwait(false);
            return;
        }
        add(request);
        context.Response.ContentType = "application/x-protobuf";
        await context.Response.Body.WriteAsync(response.ToByteArray(), context.RequestAborted).ConfigureAwait(false);
    }

    // Bounds the decompressed size too: Kestrel's body limit only sees the compressed bytes.
    private static async Task CopyBoundedAsync(Stream source, MemoryStream target, CancellationToken cancellationToken)
    {
        var chunk = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (target.Length + read > MaxOtlpBody)
            {
                throw new InvalidDataException($"The request is larger than {MaxOtlpBody} bytes.");
            }
            target.Write(chunk, 0, read);
        }
    }

    /// <summary>Stops serving.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_web is not null)
        {
            await _web.StopAsync().ConfigureAwait(false);
            await _web.DisposeAsync().ConfigureAwait(false);
        }
    }

    [GeneratedRegex("(password|pwd)=[^;]*", RegexOptions.IgnoreCase)]
    private static partial Regex ConnectionStringPassword();

    internal static string Mask(string key, string value)
    {
        string[] secret = ["PASSWORD", "SECRET", "KEY", "TOKEN"];
        if (secret.Any(s => key.Contains(s, StringComparison.OrdinalIgnoreCase)))
        {
            return "********";
        }
        return ConnectionStringPassword().Replace(value, m => m.Value[..(m.Value.IndexOf('=') + 1)] + "********");
    }

    private IReadOnlyList<object> Environment(string name)
    {
        var resource = _app.Resources.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase));
        if (resource is not IProcessResource)
        {
            return [];
        }
        try
        {
            return [.. EnvironmentBuilder.Build(resource, 0, _options).OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => new { name = kv.Key, value = Mask(kv.Key, kv.Value) })];
        }
        catch (InvalidOperationException)
        {
            // Before ports are allocated some references cannot be resolved yet.
            return [];
        }
    }
}
