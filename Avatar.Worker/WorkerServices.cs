using Avatar.Worker.Jobs;

namespace Avatar.Worker;

/// <summary>Registration of everything the worker needs.</summary>
public static class WorkerServices
{
    /// <summary>The database, Redis, the job queue, its runner, the scheduler and the job metrics.</summary>
    public static WebApplicationBuilder AddWorkerServices(this WebApplicationBuilder builder)
    {
        // Npgsql's own timeouts: nobody waits on a job, and one that fails on a dead database is retried.
        builder.AddNpgsqlDataSource("avatardb");
        builder.AddRedisClient("redis");
        builder.Services.AddOptions<WorkerOptions>().BindConfiguration("Worker").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<JobQueue>();
        builder.Services.AddSingleton<JobProducer>();
        builder.Services.AddSingleton<JobMetrics>();
        builder.Services.AddHostedService<JobRunner>();
        builder.Services.AddHostedService<Scheduler>();
        return builder;
    }
}
