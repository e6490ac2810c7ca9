using Avatar.A2F.Controller;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddControllerServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapGrpcService<A2FControllerService>();
app.MapGrpcService<AnimationReceiver>();
app.MapGrpcHealthChecksService();
app.MapGrpcReflectionService();
app.Run();
