using System.Diagnostics;

namespace Avatar.Tests.Grpc;

/// <summary>Runs the grpc-js peer scripts in Avatar.Tests/Grpc/peer (their node_modules installed by eng/setup.sh with npm ci).</summary>
internal static class NodePeer
{
    public static string Directory { get; } = Path.Combine(Repository.Root, "Avatar.Tests", "Grpc", "peer");

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
