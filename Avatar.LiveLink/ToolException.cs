namespace Avatar.LiveLink;

/// <summary>A failure the user can act on: its message is printed as it is, without a stack trace.</summary>
public sealed class ToolException(string message, int exitCode = ToolException.Failed) : Exception(message)
{
    /// <summary>Something outside the tool failed (a connection, a file).</summary>
    public const int Failed = 1;

    /// <summary>The command line was wrong.</summary>
    public const int Usage = 2;

    public int ExitCode { get; } = exitCode;
}
