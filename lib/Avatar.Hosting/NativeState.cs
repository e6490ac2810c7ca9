using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace Avatar.Hosting;

/// <summary>
/// Where native resources keep their data in run mode: <c>Avatar:DataDirectory</c> if configured (tests point it at a
/// throwaway folder), else <c>.avatar/</c> beside the AppHost project (git-ignored).
/// </summary>
internal static class NativeState
{
    public static string Root(IDistributedApplicationBuilder builder) =>
        builder.Configuration["Avatar:DataDirectory"] is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.Combine(builder.AppHostDirectory, ".avatar");

    /// <summary>Durability traded for speed (fsync off, no append-only file): for tests, never for real data.</summary>
    public static bool IsEphemeral(IDistributedApplicationBuilder builder) =>
        string.Equals(builder.Configuration["Avatar:Ephemeral"], "true", StringComparison.OrdinalIgnoreCase);

    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>
    /// A folder the postgres user can reach. As root, PostgreSQL runs as that user, which must be able to pass through
    /// every parent directory; a private checkout (mode 700) does not allow it, so the data moves to /var/lib/avatar/
    /// under a name derived from the preferred path.
    /// </summary>
    public static string ReachableByPostgres(string preferred, out bool moved)
    {
        moved = false;
        if (!IsRoot || CanOthersTraverse(Path.GetDirectoryName(preferred)!))
        {
            return preferred;
        }
        moved = true;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(preferred)))[..12];
        return Path.Combine("/var/lib/avatar", $"{Path.GetFileName(preferred)}-{hash}");
    }

    private static bool CanOthersTraverse(string path)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(path)); dir is not null; dir = dir.Parent)
        {
            if (dir.Exists && !dir.UnixFileMode.HasFlag(UnixFileMode.OtherExecute))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// The resource's connection string, for a health check registered before Aspire has resolved it (it does when the
    /// resource starts, and a check runs only once the resource runs).
    /// </summary>
    public static Func<IServiceProvider, string> ConnectionStringWhenAvailable(IDistributedApplicationBuilder builder, IResourceWithConnectionString resource)
    {
        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(resource, async (_, cancellationToken) =>
            connectionString = await resource.ConnectionStringExpression.GetValueAsync(cancellationToken).ConfigureAwait(false));
        return _ => connectionString ?? throw new InvalidOperationException($"The connection string of {resource.Name} is not available yet.");
    }

    /// <summary>Runs a command to its end; its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in command.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command[0]} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return (process.ExitCode, await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false));
    }
}
