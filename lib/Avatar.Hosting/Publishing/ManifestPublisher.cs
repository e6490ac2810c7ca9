using System.Text.Json;
using Avatar.Hosting.ApplicationModel;

namespace Avatar.Hosting.Publishing;

/// <summary>Writes the Aspire deployment manifest (the aspire-8.0 schema's subset this model can express).</summary>
public static class ManifestPublisher
{
    /// <summary>The schema the manifest declares.</summary>
    public const string SchemaUrl = "https://json.schemastore.org/aspire-8.0.json";

    /// <summary>Writes the manifest of <paramref name="resources"/> to <paramref name="outputPath"/>; project paths are relative to its folder.</summary>
    public static void Write(IReadOnlyList<Resource> resources, string outputPath)
    {
        ArgumentNullException.ThrowIfNull(resources);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        var fullPath = Path.GetFullPath(outputPath);
        var folder = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(folder);
        using var stream = File.Create(fullPath);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("$schema", SchemaUrl);
        json.WriteStartObject("resources");
        foreach (var resource in resources)
        {
            json.WriteStartObject(resource.Name);
            switch (resource)
            {
                case ParameterResource parameter:
                    WriteParameter(json, parameter);
                    break;
                case PostgresServerResource postgres:
                    WritePostgres(json, postgres);
                    break;
                case PostgresDatabaseResource database:
                    json.WriteString("type", "value.v0");
                    json.WriteString("connectionString", $"{{{database.Server.Name}.connectionString}};Database={database.DatabaseName}");
                    break;
                case RedisResource redis:
                    WriteRedis(json, redis);
                    break;
                case ProjectResource project:
                    WriteProject(json, project, folder);
                    break;
                default:
                    throw new NotSupportedException($"{resource} cannot be published to the Aspire manifest.");
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteParameter(Utf8JsonWriter json, ParameterResource parameter)
    {
        json.WriteString("type", "parameter.v0");
        json.WriteString("value", $"{{{parameter.Name}.inputs.value}}");
        json.WriteStartObject("inputs");
        json.WriteStartObject("value");
        json.WriteString("type", "string");
        if (parameter.Secret)
        {
            json.WriteBoolean("secret", true);
        }
        if (parameter.Generate is not null)
        {
            json.WriteStartObject("default");
            json.WriteStartObject("generate");
            json.WriteNumber("minLength", 22);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WritePostgres(Utf8JsonWriter json, PostgresServerResource postgres)
    {
        var name = postgres.Name;
        json.WriteString("type", "container.v0");
        json.WriteString("connectionString",
            $"Host={{{name}.bindings.tcp.host}};Port={{{name}.bindings.tcp.port}};Username={postgres.UserName};Password={{{postgres.Password.Name}.value}}");
        json.WriteString("image", PostgresServerResource.Image);
        json.WriteStartObject("env");
        json.WriteString("POSTGRES_HOST_AUTH_METHOD", "scram-sha-256");
        json.WriteString("POSTGRES_INITDB_ARGS", "--auth-host=scram-sha-256 --auth-local=scram-sha-256");
        json.WriteString("POSTGRES_USER", postgres.UserName);
        json.WriteString("POSTGRES_PASSWORD", $"{{{postgres.Password.Name}.value}}");
        json.WriteEndObject();
        WriteTcpBinding(json, 5432);
    }

    private static void WriteRedis(Utf8JsonWriter json, RedisResource redis)
    {
        var name = redis.Name;
        json.WriteString("type", "container.v0");
        json.WriteString("connectionString",
            $"{{{name}.bindings.tcp.host}}:{{{name}.bindings.tcp.port}},password={{{redis.Password.Name}.value}}");
        json.WriteString("image", RedisResource.Image);
        json.WriteString("entrypoint", "/bin/sh");
        json.WriteStartArray("args");
        json.WriteStringValue("-c");
        // The password reaches redis-server through the environment, never through the manifest's args.
        json.WriteStringValue("redis-server --requirepass $REDIS_PASSWORD --appendonly yes");
        json.WriteEndArray();
        json.WriteStartObject("env");
        json.WriteString("REDIS_PASSWORD", $"{{{redis.Password.Name}.value}}");
        json.WriteEndObject();
        WriteTcpBinding(json, 6379);
    }

    private static void WriteTcpBinding(Utf8JsonWriter json, int targetPort)
    {
        json.WriteStartObject("bindings");
        json.WriteStartObject("tcp");
        json.WriteString("scheme", "tcp");
        json.WriteString("protocol", "tcp");
        json.WriteString("transport", "tcp");
        json.WriteNumber("targetPort", targetPort);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteProject(Utf8JsonWriter json, ProjectResource project, string folder)
    {
        var name = project.Name;
        var endpoints = project.AnnotationsOf<EndpointAnnotation>().ToList();
        json.WriteString("type", "project.v0");
        json.WriteString("path", Path.GetRelativePath(folder, project.Project.ProjectPath).Replace('\\', '/'));
        json.WriteStartObject("env");
        json.WriteString("OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EXCEPTION_LOG_ATTRIBUTES", "true");
        json.WriteString("OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES", "true");
        json.WriteString("OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY", "in_memory");
        json.WriteString("ASPNETCORE_FORWARDEDHEADERS_ENABLED", "true");
        var httpPorts = endpoints.Where(e => e.Scheme is "http" or "https").Select(e => $"{{{name}.bindings.{e.Name}.targetPort}}").ToList();
        if (httpPorts.Count > 0)
        {
            json.WriteString("HTTP_PORTS", string.Join(';', httpPorts));
        }
        foreach (var reference in project.AnnotationsOf<ReferenceAnnotation>())
        {
            if (reference.Target is IResourceWithConnectionString)
            {
                json.WriteString($"ConnectionStrings__{reference.Target.Name}", $"{{{reference.Target.Name}.connectionString}}");
            }
            foreach (var endpoint in reference.Target.AnnotationsOf<EndpointAnnotation>().Where(e => e.Scheme is "http" or "https"))
            {
                json.WriteString($"services__{reference.Target.Name}__{endpoint.Name}__0", $"{{{reference.Target.Name}.bindings.{endpoint.Name}.url}}");
            }
        }
        foreach (var variable in project.AnnotationsOf<EnvironmentAnnotation>())
        {
            json.WriteString(variable.Name, variable switch
            {
                { Parameter: { } parameter } => $"{{{parameter.Name}.value}}",
                { Endpoint: { } endpoint } => $"{{{endpoint.Resource.Name}.bindings.{endpoint.EndpointName}.url}}",
                _ => variable.Value(),
            });
        }
        json.WriteEndObject();
        var args = project.AnnotationsOf<ArgumentsAnnotation>().SelectMany(a => a.Arguments).ToList();
        if (args.Count > 0)
        {
            json.WriteStartArray("args");
            args.ForEach(json.WriteStringValue);
            json.WriteEndArray();
        }
        if (endpoints.Count > 0)
        {
            json.WriteStartObject("bindings");
            foreach (var endpoint in endpoints)
            {
                json.WriteStartObject(endpoint.Name);
                json.WriteString("scheme", endpoint.Scheme);
                json.WriteString("protocol", "tcp");
                json.WriteString("transport", endpoint.IsHttp2 ? "http2" : endpoint.Scheme is "http" or "https" ? "http" : "tcp");
                if (endpoint.IsExternal)
                {
                    json.WriteBoolean("external", true);
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
    }
}
