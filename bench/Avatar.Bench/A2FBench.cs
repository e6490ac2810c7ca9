using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Avatar.Espeak;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Nvidia.Ace.Audio.V1;
using Nvidia.Ace.Services.A2FController.V1;
using Client = Nvidia.Ace.Controller.V1;

namespace Avatar.Bench;

/// <summary>
/// The A2F pair as clients use it: the Release builds of Avatar.A2F.Controller and Avatar.A2F.Inference run as processes,
/// and streams of espeak-ng speech go through ProcessAudioStream in 35 ms chunks paced at real time. Measures the latency
/// from the first chunk to the first frame, how many concurrent real-time streams this machine sustains with p99 frame
/// lateness under 100 ms, and the single-stream real-time factor. No peer can run here (NVIDIA's service needs its GPU
/// container), so these figures stand alone.
/// </summary>
public static class A2FBench
{
    private const int Rate = 22050;
    private const int ChunkMs = 35;
    // A frame can be computed once the audio 60 ms past it has arrived (the model's look-ahead plus half a window).
    private const double LookAheadSeconds = 0.0625;

    public static async Task<IReadOnlyList<BenchResult>> RunAsync()
    {
        var speech = Pcm(EspeakSynthesizer.Synthesize(
            "The quick brown fox jumps over the lazy dog while Papa buys my mom a map of the bay.", new SpeechOptions("en-us")));
        var ports = Enumerable.Range(0, 5).Select(_ => Ports.Free()).ToArray();
        var root = BenchReport.RepositoryRoot();
        using var inference = Start(Path.Combine(root, "Avatar.A2F.Inference/bin/Release/net10.0/Avatar.A2F.Inference.dll"), new()
        {
            ["Kestrel__Endpoints__grpc__Url"] = $"http://127.0.0.1:{ports[0]}", ["Kestrel__Endpoints__grpc__Protocols"] = "Http2",
            ["Kestrel__Endpoints__http__Url"] = $"http://127.0.0.1:{ports[1]}", ["Kestrel__Endpoints__http__Protocols"] = "Http1",
            ["A2F__AnimationAddress"] = $"http://127.0.0.1:{ports[2]}",
        });
        using var controller = Start(Path.Combine(root, "Avatar.A2F.Controller/bin/Release/net10.0/Avatar.A2F.Controller.dll"), new()
        {
            ["Kestrel__Endpoints__grpc__Url"] = $"http://127.0.0.1:{ports[3]}", ["Kestrel__Endpoints__grpc__Protocols"] = "Http2",
            ["Kestrel__Endpoints__animation__Url"] = $"http://127.0.0.1:{ports[2]}", ["Kestrel__Endpoints__animation__Protocols"] = "Http2",
            ["Kestrel__Endpoints__http__Url"] = $"http://127.0.0.1:{ports[4]}", ["Kestrel__Endpoints__http__Protocols"] = "Http1",
            ["A2F__InferenceAddresses__0"] = $"http://127.0.0.1:{ports[0]}",
            ["A2F__MaxConcurrentStreams"] = "1000", ["A2F__MaxStreamsPerCaller"] = "1000",
        });
        try
        {
            await WaitHealthyAsync(ports[1]);
            await WaitHealthyAsync(ports[4]);
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{ports[3]}");
            var client = new A2FControllerService.A2FControllerServiceClient(channel);
            await StreamAsync(client, speech, paced: false); // warm-up

            var firstFrames = new List<double>();
            for (var i = 0; i < 10; i++)
            {
                firstFrames.Add((await StreamAsync(client, speech, paced: true)).FirstFrameMs);
            }
            var watch = Stopwatch.StartNew();
            var tenSeconds = Enumerable.Repeat(speech, (int)Math.Ceiling(10.0 * Rate * 2 / speech.Length)).SelectMany(b => b).Take(10 * Rate * 2).ToArray();
            await StreamAsync(client, tenSeconds, paced: false);
            var realTimeFactor = watch.Elapsed.TotalSeconds / 10;

            var idleBefore = CpuShare.Of(inference, controller);
            await Task.Delay(5000);
            var idle = CpuShare.Of(inference, controller).Minus(idleBefore);
            Console.WriteLine($"  idle 5 s: CPU ms inference {idle.Inference:0}, controller {idle.Controller:0}, client {idle.Client:0}");
            var sustained = 0;
            var p99AtSustained = 0.0;
            var cpuAtSustained = new CpuShare(0, 0, 0);
            var speechSeconds = speech.Length / 2.0 / Rate;
            foreach (var streams in new[] { 10, 25, 40, 50, 75, 100, 150, 200, 250, 300 })
            {
                var before = CpuShare.Of(inference, controller);
                var results = await Task.WhenAll(Enumerable.Range(0, streams).Select(i => StreamAsync(client, speech, paced: true, offsetMs: i * ChunkMs / streams)));
                var cpu = CpuShare.Of(inference, controller).Minus(before).PerStreamSecond(streams * speechSeconds);
                var lateness = results.SelectMany(r => r.LatenessMs).Order().ToList();
                var p99 = lateness[(int)(lateness.Count * 0.99)];
                Console.WriteLine($"  {streams,4} concurrent real-time streams: p99 frame lateness {p99:0} ms, {results.Count(r => r.Error is not null)} failed; "
                    + $"CPU ms per stream-second: inference {cpu.Inference:0.0}, controller {cpu.Controller:0.0}, client {cpu.Client:0.0}");
                if (p99 >= 100 || results.Any(r => r.Error is not null))
                {
                    break;
                }
                (sustained, p99AtSustained, cpuAtSustained) = (streams, p99, cpu);
            }
            firstFrames.Sort();
            return
            [
                new BenchResult("a2f concurrent real-time streams (p99 lateness < 100 ms)", "streams", sustained),
                new BenchResult("a2f p99 frame lateness at those streams", "ms", Math.Round(p99AtSustained, 1)),
                new BenchResult("a2f first frame latency p50 (35 ms chunks)", "ms", Math.Round(firstFrames[firstFrames.Count / 2], 1)),
                new BenchResult("a2f single-stream real-time factor", "x", Math.Round(realTimeFactor, 4)),
                new BenchResult("a2f inference CPU per stream-second, at those streams", "ms", Math.Round(cpuAtSustained.Inference, 2)),
                new BenchResult("a2f controller CPU per stream-second, at those streams", "ms", Math.Round(cpuAtSustained.Controller, 2)),
                new BenchResult("a2f bench client CPU per stream-second, at those streams", "ms", Math.Round(cpuAtSustained.Client, 2)),
            ];
        }
        finally
        {
            Stop(controller);
            Stop(inference);
        }
    }

    /// <summary>
    /// CPU time (ms) of the inference and controller processes and of this one (the client), so a run shows where the
    /// cost of a stream goes; divided by the stream-seconds of audio served, it is what one real-time stream costs.
    /// </summary>
    private sealed record CpuShare(double Inference, double Controller, double Client)
    {
        public static CpuShare Of(Process inference, Process controller)
        {
            inference.Refresh();
            controller.Refresh();
            return new(inference.TotalProcessorTime.TotalMilliseconds, controller.TotalProcessorTime.TotalMilliseconds,
                Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds);
        }

        public CpuShare Minus(CpuShare earlier) => new(Inference - earlier.Inference, Controller - earlier.Controller, Client - earlier.Client);

        public CpuShare PerStreamSecond(double streamSeconds) => new(Inference / streamSeconds, Controller / streamSeconds, Client / streamSeconds);
    }

    private sealed record StreamResult(double FirstFrameMs, List<double> LatenessMs, RpcException? Error);

    private static async Task<StreamResult> StreamAsync(A2FControllerService.A2FControllerServiceClient client, byte[] pcm, bool paced, int offsetMs = 0)
    {
        await Task.Delay(offsetMs);
        var chunkBytes = Rate * ChunkMs / 1000 * 2;
        var sentAt = new List<(double AudioEnd, double Time)>();
        var lateness = new List<double>();
        double firstFrame = -1;
        var clock = Stopwatch.StartNew();
        using var call = client.ProcessAudioStream();
        try
        {
            var reading = Task.Run(async () =>
            {
                while (await call.ResponseStream.MoveNext())
                {
                    var now = clock.Elapsed.TotalMilliseconds;
                    foreach (var frame in call.ResponseStream.Current.AnimationData?.SkelAnimation?.BlendShapeWeights ?? [])
                    {
                        if (firstFrame < 0)
                        {
                            firstFrame = now;
                        }
                        // Lateness: from when the audio this frame needs had been sent, to its arrival.
                        lock (sentAt)
                        {
                            var needed = Math.Min(frame.TimeCode + LookAheadSeconds, (double)pcm.Length / 2 / Rate);
                            var sent = sentAt.FirstOrDefault(s => s.AudioEnd >= needed - 1e-9);
                            lateness.Add(sent.Time == 0 && sent.AudioEnd == 0 ? 0 : Math.Max(0, now - sent.Time));
                        }
                    }
                }
            });
            await call.RequestStream.WriteAsync(new Client.AudioStream
            {
                AudioStreamHeader = new Client.AudioStreamHeader
                {
                    AudioHeader = new AudioHeader { AudioFormat = AudioHeader.Types.AudioFormat.Pcm, ChannelCount = 1, SamplesPerSecond = Rate, BitsPerSample = 16 },
                },
            });
            for (var offset = 0; offset < pcm.Length; offset += chunkBytes)
            {
                var length = Math.Min(chunkBytes, pcm.Length - offset);
                lock (sentAt)
                {
                    sentAt.Add(((offset + length) / 2.0 / Rate, clock.Elapsed.TotalMilliseconds));
                }
                await call.RequestStream.WriteAsync(new Client.AudioStream { AudioWithEmotion = new() { AudioBuffer = ByteString.CopyFrom(pcm, offset, length) } });
                if (paced)
                {
                    var due = (offset / (double)chunkBytes + 1) * ChunkMs;
                    var wait = due - clock.Elapsed.TotalMilliseconds;
                    if (wait > 0)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(wait));
                    }
                }
            }
            await call.RequestStream.WriteAsync(new Client.AudioStream { EndOfAudio = new() });
            await call.RequestStream.CompleteAsync();
            await reading;
            return new StreamResult(firstFrame, lateness, null);
        }
        catch (RpcException ex)
        {
            return new StreamResult(firstFrame, lateness, ex);
        }
    }

    private static byte[] Pcm(SpeechClip clip)
    {
        var bytes = new byte[clip.Samples.Length * 2];
        Buffer.BlockCopy(clip.Samples, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    private static Process Start(string assembly, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("dotnet", [assembly]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(assembly)! };
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }

    private static async Task WaitHealthyAsync(int port)
    {
        using var http = new HttpClient();
        for (var attempt = 0; attempt < 300; attempt++)
        {
            try
            {
                if ((await http.GetAsync($"http://127.0.0.1:{port}/health")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the service on port {port} did not become healthy");
    }

}
