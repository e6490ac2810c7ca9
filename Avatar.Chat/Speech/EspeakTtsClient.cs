using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Avatar.Espeak;

namespace Avatar.Chat.Speech;

/// <summary>
/// The embedded voice: espeak-ng in-process (lib/Avatar.Espeak), offline and free, robotic but clear. Each character's
/// voice is an espeak-ng voice name ("en-us", "en-gb+f3"...). Audio is espeak-ng's native 22050 Hz: A2F takes any rate
/// from 16 kHz up, and resampling would only lose quality.
/// </summary>
public sealed class EspeakTtsClient : ITtsClient
{
    /// <summary>espeak-ng's output rate.</summary>
    public const int Rate = 22050;

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
            clip = await Task.Run(() => EspeakSynthesizer.Synthesize(text, new SpeechOptions(string.IsNullOrWhiteSpace(voice) ? "en-us" : voice)),
                cancellationToken);
        }
        catch (EspeakException e)
        {
            throw new TtsException($"espeak-ng could not speak with voice '{voice}': {e.Message}", inner: e);
        }
        if (clip.SampleRate != Rate)
        {
            throw new TtsException($"espeak-ng produced {clip.SampleRate} Hz audio, expected {Rate} Hz.");
        }
        yield return MemoryMarshal.AsBytes(clip.Samples.AsSpan()).ToArray();
    }
}
