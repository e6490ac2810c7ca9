using System.Diagnostics;
using Avatar.A2F.Contracts;
using Avatar.LiveLink;

namespace Avatar.Tests.LiveLink;

/// <summary>
/// Live Link packets and the face player. Alone, after the parallel collections: the interrupt test plays half a second
/// of audio in real time, and on a starved machine only 0.19 s of it was written before the interrupt.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class LiveLinkPacketTests
{
    [Fact]
    public async Task PacketsDecodeWithThePublishedLayout()
    {
        using var receiver = new LiveLinkReceiver();
        using (var player = new FacePlayer(await SenderAsync(receiver), new IdleMotion(7), wav: null, speaker: null))
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await player.RunAsync(stop.Token);
        }
        await Task.Delay(100);

        var packets = receiver.Packets;
        Assert.Empty(receiver.Errors);
        // 60 on a quiet machine; a loaded one delays the player's first frames. Never more than the clock allows.
        Assert.InRange(packets.Count, 20, 70);
        Assert.All(packets, p =>
        {
            Assert.Equal(6, p.Version);
            Assert.Equal("test-device", p.DeviceId);
            Assert.Equal("Test Subject", p.Subject);
            Assert.Equal((30, 1), (p.FpsNumerator, p.FpsDenominator));
            Assert.Equal(61, p.Curves.Length);
            Assert.All(p.Curves[..52], v => Assert.InRange(v, 0f, 1f));
            Assert.All(p.Curves[52..], v => Assert.InRange(v, -1f, 1f));
        });
        // Frame times go up by one frame, 1/30 s, and the packets come that far apart.
        Assert.All(packets.Zip(packets.Skip(1)), pair => Assert.Equal(pair.First.FrameTime + 1, pair.Second.FrameTime));
        var spacing = packets.Zip(packets.Skip(1)).Select(pair => pair.Second.SecondsSince(pair.First)).Order().ToList();
        Assert.InRange(spacing[spacing.Count / 2], 0.025, 0.042);
    }

    [Fact]
    public void WeightsMapToArkitByNameWhateverTheirOrder()
    {
        var names = A2FApi.BlendShapeNames.Reverse().ToList();
        var weights = names.Select(n => n switch { "JawOpen" => 0.7f, "EyeBlinkLeft" => 0.2f, "TongueOut" => 0.3f, "TongueTipUp" => 0.9f, _ => 0f }).ToArray();
        var curves = new float[61];

        var mapping = ArkitMapping.FromNames(names);
        mapping.Map(weights, curves);

        Assert.Equal(0.7f, curves[LiveLinkPacket.JawOpen]);
        Assert.Equal(0.2f, curves[LiveLinkPacket.EyeBlinkLeft]);
        Assert.Equal(0.3f, curves[LiveLinkPacket.TongueOut]);
        Assert.Equal(0.9f + 0.7f + 0.2f + 0.3f - 0.9f, curves.Sum(), 5);
        Assert.Equal(16, mapping.Dropped.Count);
        Assert.All(mapping.Dropped, n => Assert.StartsWith("Tongue", n));
        Assert.Throws<InvalidDataException>(() => ArkitMapping.FromNames(["Smile", "Frown"]));
    }

    [Fact]
    public void IdleMotionBlinksAndSwaysTheSameWayForTheSameSeed()
    {
        static List<float[]> Run(int seed)
        {
            var idle = new IdleMotion(seed);
            return [.. Enumerable.Range(0, 600).Select(frame =>
            {
                var curves = new float[61];
                idle.Apply(frame, curves, blink: true);
                return curves;
            })];
        }

        var first = Run(42);

        Assert.Equal(first, Run(42));
        Assert.NotEqual(first, Run(43));
        // 20 s: a blink every 2 to 6 s, fully closed each time, and never two within 2 s.
        var closed = first.Select((c, frame) => (c[LiveLinkPacket.EyeBlinkLeft], frame)).Where(b => b.Item1 == 1f).Select(b => b.frame).ToList();
        Assert.InRange(closed.Count, 3, 10);
        Assert.All(closed.Zip(closed.Skip(1)), pair => Assert.True(pair.Second - pair.First >= 60, $"blinks at frames {pair.First} and {pair.Second}"));
        var yaw = first.Select(c => c[LiveLinkPacket.HeadYaw]).ToList();
        Assert.True(yaw.Max() - yaw.Min() > 0.02, "the head should sway");
        Assert.All(yaw, y => Assert.InRange(y, -0.05f, 0.05f));
    }

    [Theory]
    [InlineData("255.255.255.255", "broadcast")]
    [InlineData("224.0.0.251", "multicast")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("0.0.0.0", "unspecified")]
    public async Task BroadcastAndMulticastTargetsAreRefusedWithAClearMessage(string host, string kind)
    {
        var (exitCode, log) = await RunToolAsync("--file", "speech.wav", "--host", host);

        Assert.Equal(2, exitCode);
        Assert.Contains($"is {(kind == "unspecified" ? "the" : "a")} {kind} address", log);
        Assert.DoesNotContain("   at ", log);
    }

    [Fact]
    public async Task AnInterruptStopsTheVoiceAndReturnsTheFaceToRestWithin100Ms()
    {
        using var receiver = new LiveLinkReceiver();
        var wav = Path.Combine(Path.GetTempPath(), $"livelink-{Guid.NewGuid():N}.wav");
        using var stop = new CancellationTokenSource();
        var player = new FacePlayer(await SenderAsync(receiver), new IdleMotion(1), new WavWriter(wav), speaker: null);
        var running = player.RunAsync(stop.Token);
        try
        {
            var turn = player.BeginTurn(TimeSpan.FromSeconds(1));
            turn.SetNames(ArkitMapping.FromNames(A2FApi.BlendShapeNames));
            turn.AddAudio(0, Tone(seconds: 3, rate: 16000), 16000);
            var speaking = new float[68];
            speaking[A2FApi.BlendShapeNames.ToList().IndexOf("JawOpen")] = 0.8f;
            for (var frame = 0; frame < 90; frame++)
            {
                turn.AddFrame(frame / 30.0, speaking);
            }
            turn.End();
            var open = await receiver.WaitForAsync(p => p.Curves[LiveLinkPacket.JawOpen] > 0.7f, TimeSpan.FromSeconds(5));
            await Task.Delay(500);

            var interruptedAt = Stopwatch.GetTimestamp();
            player.Interrupt();
            var rest = await receiver.WaitForAsync(p => p.ReceivedAt > interruptedAt && p.Curves[LiveLinkPacket.JawOpen] == 0f, TimeSpan.FromSeconds(1));
            await Task.Delay(300);

            Assert.True(Stopwatch.GetElapsedTime(interruptedAt, rest.ReceivedAt) < TimeSpan.FromMilliseconds(100));
            Assert.True(await turn.Finished);
            Assert.DoesNotContain(receiver.Packets, p => p.ReceivedAt > rest.ReceivedAt && p.Curves[LiveLinkPacket.JawOpen] > 0f);
            // Frame times never go back, across speech, the interrupt and idle motion.
            Assert.All(receiver.Packets.Zip(receiver.Packets.Skip(1)), pair => Assert.True(pair.Second.FrameTime > pair.First.FrameTime));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
            player.Dispose();
        }
        // The WAV holds what played before the interrupt: about half a second, not the 3 s of the turn.
        var (pcm, rate) = WavFile.Read(wav);
        File.Delete(wav);
        Assert.Equal(16000, rate);
        Assert.InRange(pcm.Length / 2.0 / rate, 0.4, 1.5);
    }

    internal static Task<LiveLinkSender> SenderAsync(LiveLinkReceiver receiver) =>
        LiveLinkSender.CreateAsync("127.0.0.1", receiver.Port, "test-device", "Test Subject", TextWriter.Null, CancellationToken.None);

    /// <summary>The tool as its Program.cs runs it, in this process: its exit code and what it wrote to stderr.</summary>
    internal static async Task<(int ExitCode, string Log)> RunToolAsync(params string[] args) => await RunToolAsync(args, "");

    internal static async Task<(int ExitCode, string Log)> RunToolAsync(string[] args, string input, TextWriter? output = null)
    {
        var log = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var exitCode = await LiveLinkTool.RunAsync(args, new StringReader(input), output ?? TextWriter.Null, TextWriter.Synchronized(log), timeout.Token);
        return (exitCode, log.ToString());
    }

    private static byte[] Tone(double seconds, int rate)
    {
        var pcm = new byte[2 * (int)(seconds * rate)];
        for (var i = 0; i < pcm.Length / 2; i++)
        {
            var sample = (short)(8000 * Math.Sin(2 * Math.PI * 220 * i / rate));
            pcm[2 * i] = (byte)sample;
            pcm[(2 * i) + 1] = (byte)(sample >> 8);
        }
        return pcm;
    }
}
