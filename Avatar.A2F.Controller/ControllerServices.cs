using System.Threading.RateLimiting;
using Avatar.A2F.Contracts;

namespace Avatar.A2F.Controller;

/// <summary>Registration of the controller.</summary>
public static class ControllerServices
{
    /// <summary>Options, the stream registry, streams per caller, the inference replicas, gRPC with its health and reflection services.</summary>
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
        builder.Services.AddSingleton(PartitionedRateLimiter.Create<string, string>(caller => RateLimitPartition.GetConcurrencyLimiter(caller,
            _ => new ConcurrencyLimiterOptions { PermitLimit = options.MaxStreamsPerCaller, QueueLimit = 0 })));
        builder.Services.AddSingleton<InferenceReplicas>();
        // Well above the largest buffer the rules allow (10 s at 144 kHz, 2.9 MB): a buffer somewhat over it gets
        // INVALID_ARGUMENT naming the limit, not the bare RESOURCE_EXHAUSTED of the default 4 MiB.
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = 16 * 1024 * 1024;
            o.Interceptors.Add<BadInputInterceptor>();
        });
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddGrpcReflection();
        return builder;
    }
}
