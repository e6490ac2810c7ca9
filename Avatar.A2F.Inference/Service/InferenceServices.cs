using Avatar.A2F.Inference.LipSync;
using Avatar.Grpc;

namespace Avatar.A2F.Inference.Service;

/// <summary>Registration of the inference service.</summary>
public static class InferenceServices
{
    /// <summary>The model (loaded once, batched across streams), the channel to the controller, gRPC.</summary>
    public static WebApplicationBuilder AddInferenceServices(this WebApplicationBuilder builder)
    {
        var options = new InferenceOptions();
        builder.Configuration.GetSection("A2F").Bind(options);
        if (builder.Configuration["services:a2f-controller:animation:0"] is { } fromAppHost)
        {
            options.AnimationAddress = fromAppHost;
        }
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(sp => new BatchingVisemeModel(OnnxVisemeModel.Load(options.ModelPath, options.UseCuda, sp.GetRequiredService<ILoggerFactory>())));
        builder.Services.AddSingleton<AnimationChannels>();
        builder.Services.AddSingleton<A2FInferenceService>();
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 16 * 1024 * 1024);
        return builder;
    }
}
