using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Avatar.Tests.Hosting;

namespace Avatar.Tests.Redis;

/// <summary>A real redis-server of a test's own: a free port, a password, no persistence, stopped on dispose.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("avatar-redis-").FullName;
    private Process? _process;

    public RedisServer()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    public int Port { get; }

    public string Password { get; } = Guid.NewGuid().ToString("N");

    public string ConnectionString => $"127.0.0.1:{Port},password={Password},syncTimeout=2000,connectTimeout=2000";

    public static async Task<RedisServer> StartNewAsync()
    {
        var server = new RedisServer();
        await server.StartAsync();
        return server;
    }

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--requirepass", Password,
                "--save", "", "--appendonly", "no", "--dir", _directory, "--enable-debug-command", "yes" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(info)!;
        await AvatarTesting.WaitUntilListeningAsync(new Uri($"tcp://127.0.0.1:{Port}"), TimeSpan.FromSeconds(5));
    }

    /// <summary>Kills the server at once, as a crash would.</summary>
    public async Task KillAsync()
    {
        _process!.Kill();
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            await KillAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }
}
