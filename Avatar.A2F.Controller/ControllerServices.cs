using Avatar.Grpc;

namespace Avatar.A2F.Controller;

/// <summary>Registration of the controller.</summary>
public static class ControllerServices
{
    /// <summary>Options, the stream registry, one channel per inference replica, gRPC.</summary>
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
        builder.Services.AddSingleton<IReadOnlyList<GrpcChannel>>(_ => [.. options.InferenceAddresses.Select(a => GrpcChannel.ForAddress(a, new GrpcChannelOptions
        {
            // A dead inference must show as UNAVAILABLE within a second, not as a hang.
            HttpHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), EnableMultipleHttp2Connections = true },
            MaxReceiveMessageSize = 16 * 1024 * 1024,
        }))]);
        builder.Services.AddSingleton<A2FControllerService>();
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 16 * 1024 * 1024);
        return builder;
    }
}
