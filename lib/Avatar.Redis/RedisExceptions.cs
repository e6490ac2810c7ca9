namespace Avatar.Redis;

/// <summary>The connection to Redis failed or was lost; the command may or may not have run.</summary>
/// <param name="message">What happened.</param>
/// <param name="inner">The socket error, if any.</param>
public sealed class RedisConnectionException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Redis did not answer within the configured time.</summary>
/// <param name="message">Which command, and how long it waited.</param>
public sealed class RedisTimeoutException(string message) : TimeoutException(message);

/// <summary>Redis answered with an error (its message is kept, e.g. "WRONGTYPE Operation against a key...").</summary>
/// <param name="message">Redis' error text.</param>
public sealed class RedisServerException(string message) : Exception(message);
