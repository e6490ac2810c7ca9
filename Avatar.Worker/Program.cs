using Avatar.Worker;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddWorkerServices();

var app = builder.Build();
// Gauges read Redis when exported: create the meter at start, not on first use.
app.Services.GetRequiredService<Avatar.Worker.Jobs.JobMetrics>();
app.MapDefaultEndpoints();
app.Run();
