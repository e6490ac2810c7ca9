namespace Avatar.A2F.Controller;

/// <summary>Registration of the controller.</summary>
public static class ControllerServices
{
    /// <summary>Options, the stream registry, the inference replicas, gRPC with its health and reflection services.</summary>
    public static WebApplicationBuilder AddControllerServices(this WebApplicationBuilder builder)
    {
        var options = new ControllerOptions();
        builder.Configuration.GetSection("A2F").Bind(options);
        var fromAppHost = builder.Configuration.GetSection("services:a2f-inference:grpc").GetChildren().Select(c => c.Value).OfType<string>().ToList();
        if (fromAppHost.Count > 0)
        {
            options.InferenceAddresses = fromAppHost;
        }
        if (options.InferenceAddresses.Count == 0)
        {
            options.InferenceAddresses.Add("http://127.0.0.1:50000");
        }
        options.AnimationCallbackAddress ??= ControllerOptions.OwnAnimationAddress(builder.Configuration);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<StreamRegistry>();
        builder.Services.AddSingleton<InferenceReplicas>();
        // A header plus ten seconds of 144 kHz audio fits; the default 4 MiB would refuse a buffer the rules allow.
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 16 * 1024 * 1024);
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddGrpcReflection();
        return builder;
    }
}
