using System.Globalization;
using StackExchange.Redis;

namespace Avatar.Jobs;

/// <summary>
/// A job as it travels in the stream. <paramref name="Id"/> names the work, not the delivery (session.facts:&lt;session&gt;),
/// so that a job queued or delivered twice is done once.
/// </summary>
/// <param name="Id">What the job does, to what (session.facts:&lt;session&gt;): the same work has the same id.</param>
/// <param name="Type">The handler that runs it (session.facts, session.summary...).</param>
/// <param name="Payload">JSON the handler reads.</param>
/// <param name="Attempt">1 for the first try; retries are queued again with the next number.</param>
/// <param name="Enqueued">Unix milliseconds when first queued, for the latency metric.</param>
/// <param name="TraceParent">The W3C trace context of whoever queued it.</param>
public sealed record Job(string Id, string Type, string Payload, int Attempt, long Enqueued, string? TraceParent)
{
    /// <summary>The entry's fields, as the stream holds them.</summary>
    public NameValueEntry[] ToFields() =>
    [
        new("id", Id), new("type", Type), new("payload", Payload), new("attempt", Attempt),
        new("enqueued", Enqueued), new("traceparent", TraceParent ?? ""),
    ];

    /// <summary>Reads an entry; null when it lacks what a job needs (it goes to the dead-letter stream).</summary>
    public static Job? From(StreamEntry entry)
    {
        var id = (string?)entry["id"];
        var type = (string?)entry["type"];
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(type))
        {
            return null;
        }
        return new Job(id, type, (string?)entry["payload"] ?? "{}",
            int.TryParse(entry["attempt"].ToString(), CultureInfo.InvariantCulture, out var attempt) ? attempt : 1,
            long.TryParse(entry["enqueued"].ToString(), CultureInfo.InvariantCulture, out var enqueued) ? enqueued : 0,
            entry["traceparent"].ToString() is { Length: > 0 } trace ? trace : null);
    }
}
