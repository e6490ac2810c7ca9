using Avatar.Hosting;

// Every resource's console output is echoed here too, prefixed by its name; the dashboard has it all as well.
var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions { Args = args, EnableResourceLogging = true });

// Projects start from their build output: stopping them is then immediate (see RunProjectsFromBuildOutput). A process
// that crashes starts again, as in Kubernetes. The run says "Avatar is running" once every resource is healthy.
builder.RunProjectsFromBuildOutput().RestartCrashedProcesses().ReportWhenReady();

// Published, each resource also carries what Kubernetes needs and Aspire's manifest lacks (replicas, GPUs, probes,
// requests and limits, Jobs): `make publish` turns the manifest into aspirate-output/ (see eng/Avatar.Kubernetes).
builder.AddKubernetesDeploymentInfo();

// Data: durable state in PostgreSQL, what may be lost or rebuilt in Redis. Run mode uses the machine's own servers
// (there is no container runtime here); publishing writes Aspire's postgres and redis containers.
var db = builder.AddPostgresDatabase("postgres", "avatardb");
var redis = builder.AddRedisServer("redis");

// One owner applies the schema, once, before any api replica starts.
var migrations = builder.AddProject<Projects.Avatar_Api>("migrations")
    .WithArgs("migrate")
    .WithReference(db).WaitFor(db);

// No cache in front of PostgreSQL: replicas see each other's writes at once (see README, "Why no cache"). Redis carries
// the jobs a session's end sets off; the api serves without it (the worker's sweep queues what it could not).
var api = builder.AddProject<Projects.Avatar_Api>("api")
    .WithHttpEndpoint(port: 4008)
    .WithReference(db).WithReference(redis)
    .WaitFor(db).WaitForCompletion(migrations)
    .WithReplicas(2)
    .WithHealthProbes()
    .WithExternalHttpEndpoints();

// Audio to blend shapes over NVIDIA's Audio2Face-3D gRPC API: clients call the controller, which pushes audio to an
// inference replica and gets the animation back on its animation port. Their endpoints come from each project's
// Kestrel settings (grpc 50000; grpc 52000 and animation 51000); in containers they listen on NVIDIA's ports. Both are
// ready when their gRPC health service says so.
var inference = builder.AddProject<Projects.Avatar_A2F_Inference>("a2f-inference")
    .WithContainerPorts(("grpc", 50010))
    .WithHealthProbes().WithGrpcReadinessProbe("grpc")
    .WithGpu();

var controller = builder.AddProject<Projects.Avatar_A2F_Controller>("a2f-controller")
    .WithContainerPorts(("grpc", 52010), ("animation", 51010))
    .WithReference(inference).WaitFor(inference)
    .WithHealthProbes().WithGrpcReadinessProbe("grpc")
    .WithEndpoint("grpc", e => e.IsExternal = true);
inference.WithReference(controller);

// Conversations: the model, the voice and the face, streamed over a WebSocket; the browser client is served here too.
var chat = builder.AddProject<Projects.Avatar_Chat>("chat")
    .WithHttpEndpoint(port: 4009)
    .WithReference(db).WithReference(api).WithReference(controller)
    .WaitForCompletion(migrations).WaitFor(api).WaitFor(controller)
    .WithPublicUrl("Chat__PublicApiUrl", api.GetEndpoint("http")) // where the browser client finds the Api
    .WithChatProviders(builder)
    .WithHealthProbes()
    .WithExternalHttpEndpoints();
// Browsers may call the api from chat's pages and from no other site (CORS).
api.WithPublicUrl("Cors__AllowedOrigins__0", chat.GetEndpoint("http"));

builder.AddProject<Projects.Avatar_Worker>("worker")
    .WithHttpEndpoint()
    .WithReference(db).WithReference(redis)
    .WaitFor(redis).WaitForCompletion(migrations)
    .WithHealthProbes();

builder.Build().Run();
