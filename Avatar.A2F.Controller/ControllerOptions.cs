namespace Avatar.A2F.Controller;

/// <summary>Limits and addresses (configuration section A2F), with NVIDIA's defaults.</summary>
public sealed class ControllerOptions
{
    /// <summary>Streams served at once; more are refused with RESOURCE_EXHAUSTED.</summary>
    public int MaxConcurrentStreams { get; set; } = 100;

    /// <summary>A stream with no message from the client for this long is ended.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Inference replicas (A2F:InferenceAddresses:0..., or the AppHost's services__a2f-inference__grpc__N).</summary>
    public List<string> InferenceAddresses { get; set; } = [];
}
