using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Avatar.Api.Infrastructure;

/// <summary>The Api's limits (configuration section RateLimits), per replica; defaults generous enough for tests and tools.</summary>
public sealed class ApiRateLimits
{
    /// <summary>Requests per API key.</summary>
    public RateLimit PerKey { get; set; } = new() { Permits = 200, Period = TimeSpan.FromSeconds(1) };

    /// <summary>Sign-ups (<c>POST /v1/users</c>) per client address.</summary>
    public RateLimit SignUp { get; set; } = new() { Permits = 30, Period = TimeSpan.FromMinutes(1) };

    /// <summary>WebSocket tickets per client address.</summary>
    public RateLimit Tickets { get; set; } = new() { Permits = 60, Period = TimeSpan.FromMinutes(1) };
}

/// <summary>
/// The Api's rate limit policies, set on its route groups: 429 with Retry-After and problem details, counted by policy
/// in <c>avatar.rate_limit.rejected</c>.
/// </summary>
public static class ApiRateLimiting
{
    /// <summary>Per API key: the partition is the key's SHA-256, found before authentication, so a flooding key is turned
    /// away without a database query, and the key itself is kept no longer than its request.</summary>
    public const string PerKey = "per-key";

    /// <summary>Per client address, for sign-ups: a new user needs no key, so the address is all there is to count by.</summary>
    public const string SignUp = "sign-up";

    /// <summary>Per client address, for WebSocket tickets.</summary>
    public const string Tickets = "tickets";

    /// <summary>Adds the policies, bound from RateLimits and validated at start.</summary>
    public static WebApplicationBuilder AddApiRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiRateLimits>().BindConfiguration("RateLimits")
            .Validate(l => l.PerKey.IsValid && l.SignUp.IsValid && l.Tickets.IsValid,
                "RateLimits:PerKey, RateLimits:SignUp and RateLimits:Tickets each need Permits of at least 1 and a positive Period.")
            .ValidateOnStart();
        builder.Services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.AddPolicy(PerKey, http => http.Request.Headers[ApiKeyAuthentication.Header].ToString() is { Length: > 0 and < 200 } key
                ? RateLimitPartition.GetTokenBucketLimiter(Convert.ToBase64String(ApiKeyAuthentication.Hash(key)), _ => Limits(http).PerKey.ToTokenBucket())
                // Without a key the request is refused by authentication, which costs no query.
                : RateLimitPartition.GetNoLimiter(""));
            options.AddPolicy(SignUp, http => RateLimitPartition.GetTokenBucketLimiter(ClientAddress(http), _ => Limits(http).SignUp.ToTokenBucket()));
            options.AddPolicy(Tickets, http => RateLimitPartition.GetTokenBucketLimiter(ClientAddress(http), _ => Limits(http).Tickets.ToTokenBucket()));
            options.OnRejected = async (context, _) =>
            {
                var http = context.HttpContext;
                var policy = http.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName ?? "";
                var limit = policy switch { SignUp => Limits(http).SignUp, Tickets => Limits(http).Tickets, _ => Limits(http).PerKey };
                var by = policy == PerKey ? "this API key" : "this address";
                await http.RequestServices.GetRequiredService<RateLimitMetrics>().WriteTooManyRequestsAsync(http, policy,
                    context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : (TimeSpan?)null,
                    $"The {policy} limit allows {limit.Permits} requests per {limit.Period} from {by}.");
            };
        });
        return builder;
    }

    private static ApiRateLimits Limits(HttpContext http) => http.RequestServices.GetRequiredService<IOptions<ApiRateLimits>>().Value;

    /// <summary>The peer's address. Behind a proxy that is the proxy's, unless forwarded headers are enabled
    /// (ASPNETCORE_FORWARDEDHEADERS_ENABLED=true): see README, "Limits and security".</summary>
    private static string ClientAddress(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "";
}
