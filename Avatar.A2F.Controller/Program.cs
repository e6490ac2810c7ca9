using Avatar.A2F.Controller;
using Avatar.Grpc;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddControllerServices();

var app = builder.Build();
var controller = app.Services.GetRequiredService<A2FControllerService>();
app.MapDefaultEndpoints();
app.MapGrpcService(controller.ClientService());
app.MapGrpcService(controller.AnimationService());
app.MapGrpcHealthChecksService();
app.Run();
