using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The standard resilience pipeline of Microsoft.Extensions.Http.Resilience (not available here), on Polly 8: a total
/// timeout, retries with jittered exponential back-off for transient failures of idempotent requests, a circuit breaker
/// and a per-attempt timeout.
/// </summary>
public sealed class ResilienceHandler : DelegatingHandler
{
    private static readonly HttpRequestOptionsKey<Uri> s_originalUri = new("Avatar.OriginalUri");
    private static readonly ResiliencePropertyKey<HttpRequestMessage> s_request = new("Avatar.Request");
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    /// <summary>Builds the pipeline.</summary>
    public ResilienceHandler(TimeSpan? totalTimeout = null, int maxRetries = 3, TimeSpan? retryDelay = null)
    {
        _pipeline = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddTimeout(totalTimeout ?? TimeSpan.FromSeconds(30))
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = maxRetries,
                Delay = retryDelay ?? TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(IsIdempotent(args.Context) && IsTransient(args.Outcome)),
                OnRetry = args =>
                {
                    args.Outcome.Result?.Dispose(); // the failed response is replaced by the next attempt's
                    return default;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                FailureRatio = 0.5,
                MinimumThroughput = 20,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = TimeSpan.FromSeconds(5),
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
            })
            .AddTimeout(TimeSpan.FromSeconds(10))
            .Build();
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(s_request, request);
        if (request.RequestUri is { } uri)
        {
            // Service discovery rewrites the address: each attempt starts again from the logical name.
            request.Options.Set(s_originalUri, uri);
        }
        try
        {
            return await _pipeline.ExecuteAsync(async (ctx, state) =>
            {
                if (state.Options.TryGetValue(s_originalUri, out var original))
                {
                    state.RequestUri = original;
                }
                return await base.SendAsync(state, ctx.CancellationToken).ConfigureAwait(false);
            }, context, request).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static bool IsIdempotent(ResilienceContext context) =>
        context.Properties.TryGetValue(s_request, out var request)
        && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Options
            || request.Method == HttpMethod.Put || request.Method == HttpMethod.Delete);

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Result: { } response } => response.StatusCode is >= HttpStatusCode.InternalServerError or HttpStatusCode.RequestTimeout
            or HttpStatusCode.TooManyRequests,
        _ => false,
    };
}

/// <summary>Registration of the resilience handler.</summary>
public static class ResilienceExtensions
{
    /// <summary>Adds the standard pipeline to this client.</summary>
    public static IHttpClientBuilder AddStandardResilienceHandler(this IHttpClientBuilder builder) =>
        builder.AddHttpMessageHandler(() => new ResilienceHandler());
}
