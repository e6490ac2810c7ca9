using Avatar.A2F.Inference.LipSync;

if (args is ["model", ..])
{
    return LipSyncCommands.Run(args);
}

// Reports health only for now; its gRPC API arrives with the A2F issue (see README's status table).
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
return 0;
