namespace Avatar.Tests;

/// <summary>
/// Tests that compare times or race a timer against a transport: they run after every other collection, alone, so the
/// fault matrix, the fuzzers and ten other topologies starting on two cores do not decide their outcome.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitive
{
    public const string Name = "Timing-sensitive";
}
