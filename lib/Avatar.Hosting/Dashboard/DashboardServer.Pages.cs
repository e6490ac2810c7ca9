using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Avatar.Hosting.Dashboard;

public sealed partial class DashboardServer
{
    private static readonly Lazy<string> s_script = new(() => Asset("dashboard.js"));
    private static readonly Lazy<string> s_style = new(() => Asset("dashboard.css"));

    private static void MapPages(WebApplication web)
    {
        web.MapGet("/", context => Page(context, "Resources", "resources", ""));
        web.MapGet("/console/{resource}", (HttpContext context, string resource) => Page(context, $"Console: {resource}", "console", resource));
        web.MapGet("/logs", context => Page(context, "Structured logs", "logs", ""));
        web.MapGet("/traces", context => Page(context, "Traces", "traces", ""));
        web.MapGet("/traces/{traceId}", (HttpContext context, string traceId) => Page(context, "Trace", "trace", traceId));
        web.MapGet("/metrics", context => Page(context, "Metrics", "metrics", ""));
        web.MapGet("/dashboard.js", context => Text(context, "text/javascript; charset=utf-8", s_script.Value));
        web.MapGet("/dashboard.css", context => Text(context, "text/css; charset=utf-8", s_style.Value));
    }

    // The page is a shell: the script fills <main> from the JSON API and refreshes it every second.
    private static Task Page(HttpContext context, string title, string page, string argument)
    {
        var html = $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>{WebUtility.HtmlEncode(title)} - Avatar</title>
            <link rel="stylesheet" href="/dashboard.css"></head>
            <body data-page="{page}" data-arg="{WebUtility.HtmlEncode(argument)}">
            <nav><b>Avatar</b> <a href="/">Resources</a> <a href="/logs">Structured logs</a> <a href="/traces">Traces</a> <a href="/metrics">Metrics</a></nav>
            <h1>{WebUtility.HtmlEncode(title)}</h1>
            <main id="main"><p>Loading...</p></main>
            <script src="/dashboard.js"></script>
            </body></html>
            """;
        return Text(context, "text/html; charset=utf-8", html);
    }

    private static Task Text(HttpContext context, string contentType, string text)
    {
        context.Response.ContentType = contentType;
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(text);
    }

    private static string Asset(string name)
    {
        using var stream = typeof(DashboardServer).Assembly.GetManifestResourceStream($"Avatar.Hosting.Dashboard.{name}")
            ?? throw new InvalidOperationException($"The dashboard asset {name} is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
