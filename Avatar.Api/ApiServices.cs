using System.Text.Json.Serialization;
using Avatar.Api.Data;
using Avatar.Api.Infrastructure;
using Avatar.Jobs;
using Microsoft.AspNetCore.Authentication;

namespace Avatar.Api;

/// <summary>Registration of everything the Api needs.</summary>
public static class ApiServices
{
    /// <summary>Request bodies above this are refused with 413: characters and sign-ups are small.</summary>
    public const long MaxRequestBodyBytes = 64 * 1024;

    /// <summary>Adds the database, API key authentication, rate limits, request limits, strict JSON, error shaping, OpenAPI and CORS.</summary>
    public static WebApplicationBuilder AddApiServices(this WebApplicationBuilder builder)
    {
        // PostgreSQL unreachable must be a 503 within seconds (clients retry), not a request held for Npgsql's 15 s
        // connect timeout or 30 s command timeout. 2 s, not 1: on a busy node a healthy server's fork and SCRAM
        // handshake alone can pass a second.
        builder.AddNpgsqlDataSource(Database.ConnectionName, configureDataSourceBuilder: db =>
        {
            db.ConnectionStringBuilder.Timeout = 2;
            db.ConnectionStringBuilder.CommandTimeout = 5;
            db.ConnectionStringBuilder.CancellationTimeout = 500;
            // A connection idle in the pool says nothing when its server dies; the next request to rent it fails. Npgsql
            // drops the whole pool at the first such failure, but a connection idle through a restart still failed one
            // request after recovery (the fault matrix on CI: 57P01 from the old server). A keepalive every second finds
            // every dead one while the server is still down, so none is left for a request.
            db.ConnectionStringBuilder.KeepAlive = 1;
        });
        // Redis only carries the jobs a session's end sets off; the Api serves without it (the worker's sweep queues what
        // could not be queued), so Redis being down must not make the Api unhealthy.
        builder.AddRedisClient("redis", redis => redis.DisableHealthChecks = true);
        builder.Services.AddSingleton<JobProducer>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            // An unknown field is a client mistake worth reporting, and it rules out mass assignment.
            json.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        });
        // Always throw on unreadable input, so ApiErrors can answer with the field at fault (not only in Development).
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddExceptionHandler<ApiErrors>();
        builder.AddRequestLimits(MaxRequestBodyBytes);
        builder.AddApiRateLimits();
        builder.Services.AddOpenApi();
        // Browsers may call only from the configured origins (Cors:AllowedOrigins; the AppHost names Chat's, which serves
        // the browser client). Keys travel in a header, never in cookies, but a page elsewhere has no business here.
        var origins = builder.Configuration.GetSection("Cors:AllowedOrigins").Get<string[]>() ?? [];
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => policy.WithOrigins(origins).AllowAnyHeader().AllowAnyMethod()
            .WithExposedHeaders("Location", "Retry-After")));
        return builder;
    }
}
