using Nvidia.Ace.Audio.V1;

namespace Avatar.A2F.Contracts;

/// <summary>What A2F accepts as audio, shared by the controller and the inference service so both refuse the same things.</summary>
public static class AudioRules
{
    /// <summary>Lowest accepted sample rate.</summary>
    public const int MinSampleRate = 16_000;
    /// <summary>Highest accepted sample rate.</summary>
    public const int MaxSampleRate = 144_000;
    /// <summary>Longest audio in one message (NVIDIA's limit).</summary>
    public static readonly TimeSpan MaxBufferDuration = TimeSpan.FromSeconds(10);
    /// <summary>Longest clip (NVIDIA's limit).</summary>
    public static readonly TimeSpan MaxClipDuration = TimeSpan.FromSeconds(300);

    /// <summary>Null when the header describes audio A2F takes (mono 16-bit PCM, 16 to 144 kHz); otherwise why not.</summary>
    public static string? Check(AudioHeader? header) => header switch
    {
        null => "audio_header is missing.",
        { AudioFormat: not AudioHeader.Types.AudioFormat.Pcm } => $"audio_format {header.AudioFormat} is not supported: only AUDIO_FORMAT_PCM.",
        { ChannelCount: not 1 } => $"channel_count {header.ChannelCount} is not supported: only mono (1).",
        { BitsPerSample: not 16 } => $"bits_per_sample {header.BitsPerSample} is not supported: only 16.",
        { SamplesPerSecond: < MinSampleRate or > MaxSampleRate } => $"samples_per_second {header.SamplesPerSecond} is out of range {MinSampleRate} to {MaxSampleRate}.",
        _ => null,
    };

    /// <summary>Null when a buffer of <paramref name="bytes"/> is acceptable after <paramref name="clipSamples"/> samples; otherwise why not.</summary>
    public static string? CheckBuffer(int bytes, long clipSamples, uint sampleRate)
    {
        if (bytes % 2 != 0)
        {
            return $"audio_buffer has {bytes} bytes: 16-bit samples need an even count.";
        }
        var samples = bytes / 2;
        if (samples > MaxBufferDuration.TotalSeconds * sampleRate)
        {
            return $"audio_buffer holds {samples / (double)sampleRate:0.0} s: at most {MaxBufferDuration.TotalSeconds:0} s per message.";
        }
        return clipSamples + samples > MaxClipDuration.TotalSeconds * sampleRate
            ? $"the clip exceeds {MaxClipDuration.TotalSeconds:0} s."
            : null;
    }

    /// <summary>16-bit little-endian PCM to samples in [-1, 1].</summary>
    public static float[] ToFloat(ReadOnlySpan<byte> pcm16)
    {
        var samples = new float[pcm16.Length / 2];
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = (short)(pcm16[2 * i] | (pcm16[(2 * i) + 1] << 8)) / 32768f;
        }
        return samples;
    }
}
