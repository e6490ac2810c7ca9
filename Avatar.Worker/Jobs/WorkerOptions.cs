using System.ComponentModel.DataAnnotations;

namespace Avatar.Worker.Jobs;

/// <summary>The Worker section of configuration.</summary>
public sealed class WorkerOptions
{
    /// <summary>Jobs one process runs at once.</summary>
    [Range(1, 256)]
    public int Concurrency { get; set; } = 4;

    /// <summary>Attempts before a failing job goes to the dead-letter stream.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The first retry's delay; each further retry doubles it, up to a minute.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a job may stay unacknowledged before another worker takes it over (its worker is presumed dead).</summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an idle reader waits for a wake-up before it looks at the stream anyway: the bound on how late a job is
    /// picked up when its wake-up was lost (Redis reconnecting, an entry added by hand).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often ended sessions whose jobs were not queued are looked for. The Api queues them as a session ends; this
    /// only catches what it could not (Redis down at that moment), so it need not be frequent.
    /// </summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often old transcripts are purged.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Messages of sessions ended longer ago than this are deleted (facts and summaries stay).</summary>
    [Range(1, 36500)]
    public int RetentionDays { get; set; } = 30;
}
