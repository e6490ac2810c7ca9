using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Avatar.A2F.Contracts;
using Avatar.Espeak;

namespace Avatar.Chat.Speech;

/// <summary>
/// The embedded voice: espeak-ng in-process (lib/Avatar.Espeak), offline and free, robotic but clear. Each character's
/// voice is an espeak-ng voice name ("en-us", "en-gb+f3"...). espeak-ng speaks at 22050 Hz; the audio is resampled to
/// 16 kHz, the rate A2F's model works at, so inference does no resampling of its own and clients get fewer bytes.
/// </summary>
public sealed class EspeakTtsClient : ITtsClient
{
    /// <summary>The rate of the audio this client yields.</summary>
    public const int Rate = 16000;

    /// <inheritdoc />
    public string Name => "espeak";

    /// <inheritdoc />
    public int SampleRate => Rate;

    /// <inheritdoc />
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> SynthesizeAsync(string text, string? voice,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        SpeechClip clip;
        try
        {
            // Synthesis is synchronous native work (and serialised inside espeak-ng): keep it off the socket's thread.
            clip = await Task.Run(() => EspeakSynthesizer.Synthesize(text, new SpeechOptions(string.IsNullOrWhiteSpace(voice) ? "en-us" : voice),
                cancellationToken), cancellationToken);
        }
        catch (EspeakException e)
        {
            throw new TtsException($"espeak-ng could not speak with voice '{voice}': {e.Message}", inner: e);
        }
        var resampled = AudioResampler.Resample(AudioRules.ToFloat(MemoryMarshal.AsBytes(clip.Samples.AsSpan())), clip.SampleRate, Rate);
        var pcm = new short[resampled.Length];
        for (var i = 0; i < pcm.Length; i++)
        {
            pcm[i] = (short)Math.Clamp(MathF.Round(resampled[i] * 32768f), short.MinValue, short.MaxValue);
        }
        yield return MemoryMarshal.AsBytes(pcm.AsSpan()).ToArray();
    }
}
