using System.Buffers.Binary;
using System.Diagnostics;
using Avatar.Tests.A2F;
using Avatar.Tests.Publishing;
using Xunit.Abstractions;

namespace Avatar.Tests.LiveLink;

/// <summary>The tool's executable in file mode, against the AppHost's real A2F controller and inference.</summary>
public sealed class LiveLinkFileTests(A2FTopology topology, ITestOutputHelper output) : IClassFixture<A2FTopology>
{
    private const int Rate = 22050;

    [Fact]
    public async Task TheExecutableSendsOnePacketPerFrameOnTheAudioClockWithTheJawMovingWithTheSpeech()
    {
        // A second of silence on each side of the speech, so the face has something to be still in.
        var silence = new byte[2 * Rate];
        byte[] pcm = [.. silence, .. A2FTopology.Speech("Papa bought my mom a map of the bay, and we sailed all day."), .. silence];
        var folder = Directory.CreateTempSubdirectory("livelink-").FullName;
        var input = Path.Combine(folder, "speech.wav");
        var played = Path.Combine(folder, "played.wav");
        await File.WriteAllBytesAsync(input, Wav(pcm, Rate));
        using var receiver = new LiveLinkReceiver();
        var tool = Path.Combine(Repository.Root, "Avatar.LiveLink", "bin", Commands.Configuration, "net10.0", "Avatar.LiveLink.dll");

        var watch = Stopwatch.StartNew();
        var (exitCode, log) = await Commands.RunAsync("dotnet",
            [tool, "--file", input, "--host", "127.0.0.1", "--port", $"{receiver.Port}", "--a2f", $"http://localhost:{topology.ControllerPort}", "--wav", played]);
        watch.Stop();
        await Task.Delay(100);

        Assert.True(exitCode == 0, log);
        Assert.Empty(receiver.Errors);
        var packets = receiver.Packets;
        var seconds = pcm.Length / 2.0 / Rate;
        Assert.Equal((int)Math.Ceiling(seconds * 30), packets.Count);
        Assert.All(packets.Zip(packets.Skip(1)), pair => Assert.Equal(pair.First.FrameTime + 1, pair.Second.FrameTime, 3));
        Assert.True(watch.Elapsed.TotalSeconds > seconds, "the file plays in real time");
        // Each packet leaves when the audio clock reaches its frame: within a frame of a steady 30 FPS clock, whose
        // start (unknown to a receiver) is taken as the median over the packets.
        var offsets = packets.Select(p => p.SecondsSince(packets[0]) - ((p.FrameTime - packets[0].FrameTime) / 30)).ToList();
        var origin = offsets.Order().ElementAt(offsets.Count / 2);
        var drift = offsets.Select(o => Math.Abs(o - origin)).Order().ToList();
        Assert.True(drift[(int)(drift.Count * 0.95)] < 1 / 30.0, $"95% of packets within {drift[(int)(drift.Count * 0.95)] * 1000:0} ms, the worst {drift[^1] * 1000:0} ms; "
            + string.Join(" ", offsets.Select(o => $"{(o - origin) * 1000:0}")) + "\n" + log);
        // What "played" is the whole file.
        Assert.Equal(pcm, Avatar.LiveLink.WavFile.Read(played).Pcm);

        // The jaw moves with the speech: open while it is loud, shut in the silence around it.
        var jaw = packets.Select(p => (double)p.Curves[LiveLinkPacket.JawOpen]).ToList();
        var loudness = Enumerable.Range(0, jaw.Count).Select(frame => Loudness(pcm, frame)).ToList();
        Assert.True(jaw.Take(25).Concat(jaw.TakeLast(25)).Max() < 0.1, "the jaw should be still in the silence");
        Assert.True(jaw.Max() > 0.3, "the jaw should open on speech");
        var correlation = Correlation(jaw, loudness);
        Assert.True(correlation > 0.4, $"JawOpen follows loudness with r = {correlation:0.00}");
        output.WriteLine($"{packets.Count} packets for {seconds:0.00} s; arrival off the audio clock: median {drift[drift.Count / 2] * 1000:0.0} ms, "
            + $"95% {drift[(int)(drift.Count * 0.95)] * 1000:0.0} ms, worst {drift[^1] * 1000:0.0} ms; JawOpen vs loudness r = {correlation:0.00}\n{log}");
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>A mono 16-bit PCM WAV file of <paramref name="pcm"/>, written here, not by the tool.</summary>
    internal static byte[] Wav(byte[] pcm, int rate)
    {
        var wav = new byte[44 + pcm.Length];
        "RIFF"u8.CopyTo(wav);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(4), 36 + pcm.Length);
        "WAVEfmt "u8.CopyTo(wav.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(wav.AsSpan(20), 1);
        BinaryPrimitives.WriteInt16LittleEndian(wav.AsSpan(22), 1);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(24), rate);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(28), rate * 2);
        BinaryPrimitives.WriteInt16LittleEndian(wav.AsSpan(32), 2);
        BinaryPrimitives.WriteInt16LittleEndian(wav.AsSpan(34), 16);
        "data"u8.CopyTo(wav.AsSpan(36));
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(40), pcm.Length);
        pcm.CopyTo(wav, 44);
        return wav;
    }

    /// <summary>The RMS of the audio in the frame's 1/30 s.</summary>
    private static double Loudness(byte[] pcm, int frame)
    {
        var from = frame * Rate / 30;
        var to = Math.Min(pcm.Length / 2, (frame + 1) * Rate / 30);
        var sum = 0.0;
        for (var i = from; i < to; i++)
        {
            double sample = BinaryPrimitives.ReadInt16LittleEndian(pcm.AsSpan(2 * i));
            sum += sample * sample;
        }
        return to > from ? Math.Sqrt(sum / (to - from)) : 0;
    }

    private static double Correlation(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        double mx = x.Average(), my = y.Average();
        var cov = x.Zip(y).Sum(p => (p.First - mx) * (p.Second - my));
        return cov / Math.Sqrt(x.Sum(v => (v - mx) * (v - mx)) * y.Sum(v => (v - my) * (v - my)));
    }
}
