using System.Diagnostics;

namespace Avatar.Hosting.Orchestration;

/// <summary>
/// Where a server that runs as another user (postgres) keeps its data. As root, that user must be able to reach the
/// folder through every parent directory; a private checkout (mode 700) does not allow it, so the data moves to
/// /var/lib/avatar/ under a name derived from the preferred path, and the run says so.
/// </summary>
internal static class DataLocation
{
    public static string Resolve(string preferredRoot, ConsoleLogs logs, string resource)
    {
        var data = Path.Combine(preferredRoot, "data");
        if (!Native.IsRoot || CanOthersTraverse(preferredRoot))
        {
            Directory.CreateDirectory(preferredRoot);
            return data;
        }
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(preferredRoot)))[..12];
        var fallback = Path.Combine("/var/lib/avatar", $"{resource}-{hash}");
        Directory.CreateDirectory(fallback);
        logs.Add(resource, resource, $"{preferredRoot} is not reachable by the postgres user; keeping data in {fallback}");
        return Path.Combine(fallback, "data");
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

    /// <summary>Hands files to the postgres user (as root) so initdb and postgres can use them.</summary>
    public static async Task GiveToPostgresAsync(IEnumerable<string> paths, CancellationToken cancellationToken)
    {
        if (!Native.IsRoot)
        {
            return;
        }
        var info = new ProcessStartInfo("chown") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var arg in (string[])["-R", "postgres:postgres", .. paths])
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var error = await process.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"chown to the postgres user failed: {error}");
        }
    }
}
