using Avatar.A2F.Inference.LipSync;
using Avatar.A2F.Inference.Service;

if (args is ["model", ..])
{
    return LipSyncCommands.Run(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddInferenceServices();

var app = builder.Build();
// Load the model now: a missing or broken model fails the start, and the first stream does not pay for the load.
app.Services.GetRequiredService<BatchingVisemeModel>();
app.Services.GetRequiredService<LipSyncModelHealth>();
app.MapDefaultEndpoints();
app.MapGrpcService<A2FInferenceService>();
app.MapGrpcHealthChecksService();
app.MapGrpcReflectionService();
app.Run();
return 0;
