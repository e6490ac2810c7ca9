namespace Avatar.A2F.Controller;

/// <summary>Limits and addresses (configuration section A2F), with NVIDIA's defaults.</summary>
public sealed class ControllerOptions
{
    /// <summary>Streams served at once; more are refused with RESOURCE_EXHAUSTED.</summary>
    public int MaxConcurrentStreams { get; set; } = 100;

    /// <summary>
    /// Streams one caller may hold at once; more are refused with RESOURCE_EXHAUSTED, so one client cannot take every
    /// stream. The caller is the peer's IP address, not a metadata key: a key is whatever the client says it is. Behind a
    /// proxy that hides client addresses every client is one caller, so raise this there.
    /// </summary>
    public int MaxStreamsPerCaller { get; set; } = 50;

    /// <summary>A stream with no message from the client for this long is ended.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Inference replicas (A2F:InferenceAddresses:0..., or the AppHost's services__a2f-inference__grpc__N).</summary>
    public List<string> InferenceAddresses { get; set; } = [];

    /// <summary>
    /// HTTP/2 connections opened to each inference address, streams taken in turn over all of them. One address often
    /// fronts several replicas (the orchestrator's proxy locally, a Kubernetes Service in production), and those balance
    /// connections, not streams: one connection would send every stream to one replica.
    /// </summary>
    public int ConnectionsPerAddress { get; set; } = 4;

    /// <summary>
    /// How long inference may take to accept a stream (its response headers) once it has accepted one; before that it
    /// may be warming up, and gets 10 s. Past it the stream is UNAVAILABLE: a proxy in front of a stopped replica can
    /// accept the connection and never answer, and a client must hear UNAVAILABLE within a second. Inference answers
    /// with headers before any other work, so this is ample.
    /// </summary>
    public TimeSpan InferenceAcceptTimeout { get; set; } = TimeSpan.FromMilliseconds(800);

    /// <summary>
    /// Where inference should push this controller's animation (A2F:AnimationCallbackAddress). By default this
    /// controller's own animation endpoint, with a wildcard host replaced by POD_IP in Kubernetes; sent with each stream,
    /// so any number of controllers can share the inference replicas.
    /// </summary>
    public string? AnimationCallbackAddress { get; set; }

    /// <summary>This controller's animation address, from its Kestrel endpoint "animation".</summary>
    public static string? OwnAnimationAddress(IConfiguration configuration)
    {
        if (configuration["Kestrel:Endpoints:animation:Url"] is not { } url)
        {
            return null;
        }
        // "http://+:51010" listens everywhere; others reach this pod at its own address.
        var host = Environment.GetEnvironmentVariable("POD_IP") is { Length: > 0 } podIp ? podIp : "127.0.0.1";
        return System.Text.RegularExpressions.Regex.Replace(url, @"//(\+|\*|0\.0\.0\.0|\[::\])(?=:)", "//" + host);
    }
}
