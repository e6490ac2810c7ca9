using Avatar.A2F.Contracts;
using Avatar.A2F.Inference.LipSync;

namespace Avatar.A2F.Inference.Service;

/// <summary>Registration of the inference service.</summary>
public static class InferenceServices
{
    /// <summary>The model (loaded once, batched across streams, its version in health and metrics), the channels to the controllers, gRPC with its health and reflection services.</summary>
    public static WebApplicationBuilder AddInferenceServices(this WebApplicationBuilder builder)
    {
        var options = new InferenceOptions();
        builder.Configuration.GetSection("A2F").Bind(options);
        if (builder.Configuration["services:a2f-controller:animation:0"] is { } fromAppHost)
        {
            options.AnimationAddress = fromAppHost;
        }
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(sp => OnnxVisemeModel.Load(options.ModelPath, options.UseCuda, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton(sp => new BatchingVisemeModel(sp.GetRequiredService<OnnxVisemeModel>()));
        builder.Services.AddSingleton<LipSyncModelHealth>();
        builder.Services.AddHealthChecks().AddCheck<LipSyncModelHealth>("lipsync-model");
        builder.Services.AddSingleton<AnimationChannels>();
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
