using System.Diagnostics.Metrics;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// A rate limit from configuration (<c>RateLimits:&lt;Name&gt;:Permits</c> and <c>:Period</c>): a token bucket that holds
/// up to <see cref="Permits"/> and refills at <see cref="Permits"/> per <see cref="Period"/>, so a quiet client may
/// burst that many at once. Limits live in each process's memory: behind N replicas a client gets up to N times the limit.
/// </summary>
public sealed class RateLimit
{
    /// <summary>Permits per <see cref="Period"/>, and the largest burst.</summary>
    public int Permits { get; set; }

    /// <summary>The period the permits are counted over.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether the settings make a limit, for start-up validation.</summary>
    public bool IsValid => Permits >= 1 && Period > TimeSpan.Zero;

    /// <summary>The limiter's options; nothing queues, so an overdrawn client hears it at once.</summary>
    public TokenBucketRateLimiterOptions ToTokenBucket() => new()
    {
        TokenLimit = Permits,
        TokensPerPeriod = Permits,
        ReplenishmentPeriod = Period,
        QueueLimit = 0,
        AutoReplenishment = true,
    };
}

/// <summary>
/// The meter <c>Avatar.RateLimiting</c>: <c>avatar.rate_limit.rejected</c> counts what any limit refused (HTTP requests,
/// chat messages and sockets, A2F streams), tagged with the <c>policy</c> that refused it.
/// </summary>
public sealed class RateLimitMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Avatar.RateLimiting";

    private readonly Counter<long> _rejected;

    /// <summary>Creates the counter on the host's meter factory.</summary>
    public RateLimitMetrics(IMeterFactory meters) =>
        _rejected = meters.Create(MeterName).CreateCounter<long>("avatar.rate_limit.rejected", "{rejection}",
            "Requests, messages or streams refused by a rate or concurrency limit, by policy.");

    /// <summary>Counts one refusal by <paramref name="policy"/>.</summary>
    public void Rejected(string policy) => _rejected.Add(1, new KeyValuePair<string, object?>("policy", policy));

    /// <summary>
    /// Counts the refusal and answers 429 with problem details and, when the limit knows it, Retry-After in whole seconds
    /// (rounded up, so a client that waits that long is served).
    /// </summary>
    public async ValueTask WriteTooManyRequestsAsync(HttpContext http, string policy, TimeSpan? retryAfter, string detail)
    {
        Rejected(policy);
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        if (retryAfter is { } wait)
        {
            http.Response.Headers.RetryAfter = RetryAfterSeconds(wait).ToString(CultureInfo.InvariantCulture);
        }
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails { Status = 429, Title = "Too many requests.", Detail = detail, Extensions = { ["policy"] = policy } },
        });
    }

    /// <summary>A lease's retry-after as whole seconds, at least 1.</summary>
    public static int RetryAfterSeconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
}
