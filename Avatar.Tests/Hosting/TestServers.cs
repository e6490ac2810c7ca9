using Avatar.Hosting;
using Avatar.Hosting.ApplicationModel;

namespace Avatar.Tests.Hosting;

/// <summary>Small real processes (node one-liners) that the orchestrator runs in tests.</summary>
internal static class TestServers
{
    // Answers every request with its replica identity; /crash exits with code 3; /health is 200.
    private const string WhoAmI = """
        const http = require('http');
        http.createServer((req, res) => {
          if (req.url === '/crash') { res.end('bye'); setTimeout(() => process.exit(3), 10); return; }
          res.setHeader('connection', 'close');
          res.end(process.env.OTEL_RESOURCE_ATTRIBUTES);
        }).listen(Number(process.env.PORT), '127.0.0.1');
        process.on('SIGTERM', () => process.exit(0));
        """;

    public static IResourceBuilder<ExecutableResource> AddWhoAmI(this DistributedApplicationBuilder builder, string name) =>
        builder.AddExecutable(name, "node", Path.GetTempPath(), "-e", WhoAmI)
            .WithHttpEndpoint(env: "PORT")
            .WithHttpHealthCheck("/health");

    // Prints the names (and service URLs) of the variables a referencing service receives, then idles.
    private const string PrintEnvironment = """
        const keys = Object.keys(process.env).filter(k => k.startsWith('services__') || k.startsWith('ConnectionStrings__')).sort();
        console.log('ENV ' + JSON.stringify(keys.map(k => k.startsWith('services__') ? k + '=' + process.env[k] : k)));
        setInterval(() => {}, 1000);
        process.on('SIGTERM', () => process.exit(0));
        """;

    public static IResourceBuilder<ExecutableResource> AddEnvironmentPrinter(this DistributedApplicationBuilder builder, string name) =>
        builder.AddExecutable(name, "node", Path.GetTempPath(), "-e", PrintEnvironment);
}
