using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Avatar.Chat.Conversations;

/// <summary>Per-user limits of conversations (configuration section RateLimits), per replica.</summary>
public sealed class ChatRateLimits
{
    /// <summary><c>say</c> messages per user, over all of the user's sockets: each one sets off the model, a voice and a face.</summary>
    public RateLimit Says { get; set; } = new() { Permits = 30, Period = TimeSpan.FromMinutes(1) };

    /// <summary>Sockets a user may hold open at once.</summary>
    public int SocketsPerUser { get; set; } = 8;
}

/// <summary>
/// The limits in force, partitioned by user: a token bucket of says and a count of open sockets. A say over its limit
/// gets a <c>rate_limited</c> frame and the socket stays open; a socket over its limit is refused with 429.
/// </summary>
public sealed class ChatLimits(IOptions<ChatRateLimits> options, RateLimitMetrics metrics) : IDisposable
{
    /// <summary>The metric's policy for says.</summary>
    public const string SaysPolicy = "chat-says";

    /// <summary>The metric's policy for sockets.</summary>
    public const string SocketsPolicy = "chat-sockets";

    private readonly PartitionedRateLimiter<Guid> _says = PartitionedRateLimiter.Create<Guid, Guid>(user =>
        RateLimitPartition.GetTokenBucketLimiter(user, _ => options.Value.Says.ToTokenBucket()));

    private readonly PartitionedRateLimiter<Guid> _sockets = PartitionedRateLimiter.Create<Guid, Guid>(user =>
        RateLimitPartition.GetConcurrencyLimiter(user, _ => new ConcurrencyLimiterOptions { PermitLimit = options.Value.SocketsPerUser, QueueLimit = 0 }));

    /// <summary>The limits' settings.</summary>
    public ChatRateLimits Settings => options.Value;

    /// <summary>Null when the user may say something now; otherwise how long to wait.</summary>
    public TimeSpan? TrySay(Guid userId)
    {
        using var lease = _says.AttemptAcquire(userId);
        if (lease.IsAcquired)
        {
            return null;
        }
        metrics.Rejected(SaysPolicy);
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : options.Value.Says.Period;
    }

    /// <summary>A socket's place, held until disposed; not acquired when the user has all the sockets allowed.</summary>
    public RateLimitLease OpenSocket(Guid userId) => _sockets.AttemptAcquire(userId);

    /// <inheritdoc />
    public void Dispose()
    {
        _says.Dispose();
        _sockets.Dispose();
    }
}
