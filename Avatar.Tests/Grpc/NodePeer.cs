using System.Diagnostics;

namespace Avatar.Tests.Grpc;

/// <summary>Runs the grpc-js peer scripts in Avatar.Tests/Grpc/peer (their node_modules installed by eng/setup.sh with npm ci).</summary>
internal static class NodePeer
{
    public static string Directory { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Avatar.sln")))
            {
                return Path.Combine(dir.FullName, "Avatar.Tests", "Grpc", "peer");
            }
        }
        throw new DirectoryNotFoundException("Avatar.Tests/Grpc/peer not found above " + AppContext.BaseDirectory);
    }

    public static Process Start(string script, params string[] args)
    {
        var info = new ProcessStartInfo("node") { WorkingDirectory = Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return Process.Start(info)!;
    }
}
