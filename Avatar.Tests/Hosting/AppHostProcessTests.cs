using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Avatar.Tests.Hosting;

/// <summary>The AppHost as <c>make run</c> runs it: a process of its own, stopped with SIGTERM, or killed outright.</summary>
public sealed partial class AppHostProcessTests
{
    private static readonly string[] s_services = ["api", "chat", "worker", "a2f-controller", "a2f-inference"];

    [Fact]
    public async Task TheRunPrintsTheLoginUrlSigtermStopsEverythingAndAKilledAppHostLeavesNothingBehind()
    {
        var state = Path.Combine(Path.GetTempPath(), "avatar-tests", "apphost-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await using (var killed = new RunningAppHost(state))
            {
                await killed.StartAndWaitForEveryServiceAsync();
                AvatarTesting.Kill(killed.Process.Id);
                await killed.Process.WaitForExitAsync();
                // The orchestrator watches the AppHost and takes down what it started.
                await EventuallyEmptyAsync(killed, TimeSpan.FromSeconds(30));
            }

            await using var stopped = new RunningAppHost(state);
            await stopped.StartAndWaitForEveryServiceAsync();
            var watch = Stopwatch.StartNew();
            AvatarTesting.Kill(stopped.Process.Id, "TERM");
            await stopped.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Equal(0, stopped.Process.ExitCode);
            await EventuallyEmptyAsync(stopped, TimeSpan.FromSeconds(15) - watch.Elapsed);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task EventuallyEmptyAsync(RunningAppHost app, TimeSpan within)
    {
        var watch = Stopwatch.StartNew();
        while (app.MarkedProcesses().Count > 0 && watch.Elapsed < within)
        {
            await Task.Delay(200);
        }
        Assert.Empty(app.MarkedProcesses().Select(pid => $"{pid} {Describe(pid)}"));
    }

    private static string Describe(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "(gone)";
        }
    }

    [GeneratedRegex(@"http://localhost:\d+/login\?t=[0-9a-f]+")]
    private static partial Regex LoginUrl();

    /// <summary>An AppHost process whose every descendant inherits a marker variable, so they can be found in /proc.</summary>
    private sealed class RunningAppHost(string state) : IAsyncDisposable
    {
        private readonly string _marker = Guid.NewGuid().ToString("N");
        private readonly StringBuilder _output = new();
        private readonly TaskCompletionSource<Uri> _loginUrl = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Process Process { get; private set; } = null!;

        public async Task StartAndWaitForEveryServiceAsync()
        {
            // As `make run` does, through the AppHost's launch profile; ports are free ones, so a `make run` may be going.
            var appHost = Path.Combine(Repository.Root, "Avatar.AppHost", "bin", Configuration, "net10.0", "Avatar.AppHost.dll");
            var info = new ProcessStartInfo("dotnet")
            {
                ArgumentList = { appHost, $"--Avatar:DataDirectory={state}", "--Avatar:Ephemeral=true", "--DcpPublisher:RandomizePorts=true" },
                WorkingDirectory = Path.Combine(Repository.Root, "Avatar.AppHost"),
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            info.Environment["AVATAR_TEST_MARKER"] = _marker;
            info.Environment["DOTNET_ENVIRONMENT"] = "Development";
            info.Environment["ASPNETCORE_URLS"] = $"http://localhost:{FreePort()}";
            info.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://localhost:{FreePort()}";
            info.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
            Process = Process.Start(info)!;
            Process.OutputDataReceived += (_, e) => Record(e.Data);
            Process.ErrorDataReceived += (_, e) => Record(e.Data);
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();

            var login = await _loginUrl.Task.WaitAsync(TimeSpan.FromSeconds(120));
            using var dashboard = new HttpClient { BaseAddress = new Uri(login.GetLeftPart(UriPartial.Authority)) };
            var token = System.Web.HttpUtility.ParseQueryString(login.Query)["t"];
            var key = (await (await dashboard.PostAsJsonAsync("/api/telemetry/validateToken", new { token })).EnsureSuccessStatusCode()
                .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("apiKey").GetString();
            dashboard.DefaultRequestHeaders.Add("x-api-key", key);

            try
            {
                await _ready.Task.WaitAsync(TimeSpan.FromSeconds(180));
            }
            catch (TimeoutException)
            {
                lock (_output)
                {
                    Assert.Fail($"the AppHost never said every resource was healthy:\n{_output}");
                }
            }
            // A service shows up in the dashboard's telemetry once it runs and exports.
            var reporting = new HashSet<string>();
            for (var watch = Stopwatch.StartNew(); !s_services.All(reporting.Contains) && watch.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(250))
            {
                var response = await dashboard.GetAsync("/api/telemetry/resources");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    reporting = (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().Select(r => r.GetProperty("name").GetString()!).ToHashSet();
                }
            }
            Assert.Superset(s_services.ToHashSet(), reporting);
            // Every service process at least (the api has two), each started by the orchestrator with the marker.
            Assert.True(MarkedProcesses().Count >= 6, $"every service should have a process; found {MarkedProcesses().Count}");
        }

        private static string Configuration =>
            new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<Configuration>/net10.0/

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        private void Record(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
            if (line is not null && LoginUrl().Match(line) is { Success: true } match)
            {
                _loginUrl.TrySetResult(new Uri(match.Value));
            }
            if (line?.Contains("Avatar is running", StringComparison.Ordinal) == true)
            {
                _ready.TrySetResult();
            }
        }

        /// <summary>Every live process that inherited the marker: the AppHost's children and all of theirs.</summary>
        public List<int> MarkedProcesses()
        {
            var needle = Encoding.ASCII.GetBytes("AVATAR_TEST_MARKER=" + _marker);
            var pids = new List<int>();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId || (Process is { HasExited: false } && pid == Process.Id))
                {
                    continue;
                }
                try
                {
                    if (File.ReadAllBytes(Path.Combine(dir, "environ")).AsSpan().IndexOf(needle) >= 0 && !IsZombie(dir))
                    {
                        pids.Add(pid);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // Gone, or not ours to read.
                }
            }
            return pids;
        }

        private static bool IsZombie(string dir) => File.ReadAllText(Path.Combine(dir, "stat")).Split(") ")[1].StartsWith('Z');

        public ValueTask DisposeAsync()
        {
            if (Process is { HasExited: false })
            {
                Process.Kill(entireProcessTree: true);
            }
            foreach (var pid in MarkedProcesses())
            {
                AvatarTesting.Kill(pid);
            }
            Process?.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
