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

// Audio to blend shapes. These report health only until the A2F issue lands.
var inference = builder.AddProject<Projects.Avatar_A2F_Inference>("a2f-inference")
    .WithHttpEndpoint()
    .WithHttpHealthCheck("/health")
    .WithGpu();

var controller = builder.AddProject<Projects.Avatar_A2F_Controller>("a2f-controller")
    .WithHttpEndpoint()
    .WithReference(inference).WaitFor(inference)
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.Avatar_Chat>("chat")
    .WithHttpEndpoint(port: 4009)
    .WithReference(api).WithReference(controller).WithReference(redis)
    .WaitFor(api)
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoints();

builder.AddProject<Projects.Avatar_Worker>("worker")
    .WithHttpEndpoint()
    .WithReference(db).WithReference(redis)
    .WaitFor(redis).WaitForCompletion(migrations)
    .WithHttpHealthCheck("/health");

builder.Build().Run();
