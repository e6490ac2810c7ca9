var builder = DistributedApplication.CreateBuilder(args);

// Data: durable state in PostgreSQL, what may be lost or rebuilt in Redis.
var postgres = builder.AddPostgres("postgres");
var db = postgres.AddDatabase("avatardb");
var redis = builder.AddRedis("redis");

// One owner applies the schema, once, before any api replica starts.
var migrations = builder.AddProject<Projects.Avatar_Api>("migrations")
    .WithArgs("migrate")
    .WithReference(db).WaitFor(db);

// No cache in front of PostgreSQL: replicas see each other's writes at once (see README, "Why no cache").
var api = builder.AddProject<Projects.Avatar_Api>("api")
    .WithHttpEndpoint(port: 4008)
    .WithReference(db)
    .WaitFor(db).WaitForCompletion(migrations)
    .WithReplicas(2)
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoints();

// Audio to blend shapes over NVIDIA's Audio2Face-3D gRPC API: clients call the controller, which pushes audio to an
// inference replica and gets the animation back on its animation port. In containers they listen on NVIDIA's ports.
var inference = builder.AddProject<Projects.Avatar_A2F_Inference>("a2f-inference")
    .WithEndpoint(port: 50000, targetPort: 50010, scheme: "http", name: "grpc", http2Only: true)
    .WithHttpEndpoint()
    .WithHttpHealthCheck("/health")
    .WithGpu();

var controller = builder.AddProject<Projects.Avatar_A2F_Controller>("a2f-controller")
    .WithEndpoint(port: 52000, targetPort: 52010, scheme: "http", name: "grpc", http2Only: true)
    .WithEndpoint(port: 51000, targetPort: 51010, scheme: "http", name: "animation", http2Only: true)
    .WithHttpEndpoint()
    .WithReference(inference).WaitFor(inference)
    .WithHttpHealthCheck("/health")
    .WithEndpoint("grpc", e => e.IsExternal = true);
inference.WithReference(controller);

// Conversations: the model, the voice and the face, streamed over a WebSocket; the browser client is served here too.
builder.AddProject<Projects.Avatar_Chat>("chat")
    .WithHttpEndpoint(port: 4009)
    .WithReference(db).WithReference(api).WithReference(controller)
    .WaitForCompletion(migrations).WaitFor(api).WaitFor(controller)
    .WithEnvironment("Chat__PublicApiUrl", api.GetEndpoint("http")) // where the browser client finds the Api
    .WithChatProviders(builder)
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoints();

builder.AddProject<Projects.Avatar_Worker>("worker")
    .WithHttpEndpoint()
    .WithReference(db).WithReference(redis)
    .WaitFor(redis).WaitForCompletion(migrations)
    .WithHttpHealthCheck("/health");

builder.Build().Run();
