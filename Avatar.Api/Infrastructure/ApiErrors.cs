using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;
using Npgsql;

namespace Avatar.Api.Infrastructure;

/// <summary>
/// Turns the errors a client can cause or suffer into RFC 9457 problem details: unreadable JSON (400, with the field),
/// an oversized body (413), a charset it cannot read (415), and an unreachable database (503, so clients retry).
/// Anything else is a bug and is left to the default handler (500, logged).
/// </summary>
public sealed class ApiErrors(IProblemDetailsService problems, NpgsqlDataSource database, ILogger<ApiErrors> logger) : IExceptionHandler
{
    /// <inheritdoc />
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail, errors) = exception switch
        {
            BadHttpRequestException { InnerException: JsonException json } => (400, "The request body is not valid JSON for this endpoint.", json.Message,
                new Dictionary<string, string[]> { [FieldName(json.Path)] = [json.Message] }),
            BadHttpRequestException { StatusCode: 413 } => (413, "The request body is too large.", exception.Message, null),
            BadHttpRequestException bad => (bad.StatusCode, "Bad request.", bad.Message, null),
            // ASP.NET Core reads JSON only in the encodings .NET knows; it throws for any other charset (even a quoted "utf-8").
            InvalidOperationException when HasUnknownCharset(httpContext.Request) => (415, "The request body's charset is not supported.", exception.Message, null),
            _ when IsDatabaseUnavailable(exception) => (503, "The database is unavailable.", WhyUnavailable(exception) + " Try again shortly.", null),
            _ => (0, "", "", (Dictionary<string, string[]>?)null),
        };
        if (status == 0)
        {
            return false;
        }
        if (status == 503)
        {
            logger.LogWarning(exception, "Database unavailable");
            // After a database restart every idle pooled connection is dead, and each would fail one more request once
            // the database is back: drop them all at the first failure instead.
            database.Clear();
            httpContext.Response.Headers.RetryAfter = "1";
        }
        httpContext.Response.StatusCode = status;
        var problem = errors is null
            ? new ProblemDetails { Status = status, Title = title, Detail = detail }
            : new HttpValidationProblemDetails(errors) { Status = status, Title = title, Detail = detail };
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    private static bool IsDatabaseUnavailable(Exception exception) => exception switch
    {
        NpgsqlException { IsTransient: true } or NpgsqlException { InnerException: SocketException or IOException or TimeoutException } => true,
        PostgresException { SqlState: "57P01" or "57P02" or "57P03" } => true, // shutting down, crash shutdown, cannot connect now
        TimeoutException { InnerException: NpgsqlException } => true,
        _ => false,
    };

    /// <summary>Which of the usual outages this is, in words that tell an operator where to look and tell nobody a secret.</summary>
    private static string WhyUnavailable(Exception exception) => exception switch
    {
        PostgresException { SqlState: "57P03" } => "The database is starting up.",
        PostgresException { SqlState: "57P02" } => "The database restarted after a crash and the connection was lost.",
        PostgresException => "The database shut down and the connection was lost.",
        TimeoutException or { InnerException: TimeoutException } => "The database did not answer in time.",
        _ => "The database cannot be reached.",
    };

    private static bool HasUnknownCharset(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || type.Charset is not { Length: > 0 } charset)
        {
            return false;
        }
        try
        {
            Encoding.GetEncoding(charset.ToString());
            return false;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    /// <summary>"$.persona" or "$.tags[2]" to the field a client knows: "persona", "tags[2]".</summary>
    private static string FieldName(string? path) => path is null or "$" ? "$" : path.TrimStart('$', '.');
}
