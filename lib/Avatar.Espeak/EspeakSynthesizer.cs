using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Avatar.Espeak;

/// <summary>A phoneme espeak-ng spoke, and when.</summary>
/// <param name="Name">espeak-ng's phoneme mnemonic (e.g. "a", "p", "aI", "_:" for a pause).</param>
/// <param name="Start">Offset from the start of the clip.</param>
public readonly record struct PhonemeEvent(string Name, TimeSpan Start);

/// <summary>Synthesized speech: 16-bit mono samples and the phonemes with their start times.</summary>
/// <param name="Samples">Mono PCM samples.</param>
/// <param name="SampleRate">Samples per second (espeak-ng speaks at 22050 Hz).</param>
/// <param name="Phonemes">Phonemes in order of their start.</param>
public sealed record SpeechClip(short[] Samples, int SampleRate, IReadOnlyList<PhonemeEvent> Phonemes)
{
    /// <summary>Length of the clip.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds((double)Samples.Length / SampleRate);
}

/// <summary>How to speak.</summary>
/// <param name="Voice">An espeak-ng voice name with an optional variant: "en-us", "en-gb+f3", "en-us+m3".</param>
/// <param name="WordsPerMinute">Speed, 80 to 450 (espeak-ng's default is 175).</param>
/// <param name="Pitch">Base pitch, 0 to 100 (default 50).</param>
public sealed record SpeechOptions(string Voice = "en-us", int WordsPerMinute = 175, int Pitch = 50);

/// <summary>
/// Text to speech with libespeak-ng (the C library of the espeak-ng package), including phoneme events with their
/// audio positions. espeak-ng keeps global state, so calls are serialised; synthesis runs much faster than real time.
/// </summary>
public static unsafe class EspeakSynthesizer
{
    private const string Library = "libespeak-ng.so.1";
    private const int AudioOutputSynchronous = 2;
    private const int InitializePhonemeEvents = 0x0001;
    private const int InitializeDontExit = 0x8000;
    private const int CharsUtf8 = 1;
    private const int EndPause = 0x1000;
    private const int EventListTerminated = 0;
    private const int EventPhoneme = 7;
    private const int ParameterRate = 1;
    private const int ParameterPitch = 3;

    private static readonly Lock s_gate = new();
    private static int s_sampleRate;

    // The clip being synthesised on the thread that holds the lock; the native callback appends to it.
    [ThreadStatic] private static Collector? t_collector;

    /// <summary>Speaks <paramref name="text"/> and returns the whole clip.</summary>
    /// <exception cref="EspeakException">espeak-ng is missing or refused the voice or text.</exception>
    public static SpeechClip Synthesize(string text, SpeechOptions? options = null) => Synthesize(text, options, CancellationToken.None);

    /// <summary>
    /// Speaks <paramref name="text"/> and returns the whole clip; cancelling stops espeak-ng at its next buffer (every
    /// 200 ms of audio), so a long sentence does not hold up an interrupted caller.
    /// </summary>
    /// <exception cref="EspeakException">espeak-ng is missing or refused the voice or text.</exception>
    /// <exception cref="OperationCanceledException">Cancelled before the clip was complete.</exception>
    public static SpeechClip Synthesize(string text, SpeechOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        options ??= new SpeechOptions();
        lock (s_gate)
        {
            EnsureInitialized();
            Check(espeak_SetVoiceByName(options.Voice), $"voice '{options.Voice}'");
            Check(espeak_SetParameter(ParameterRate, Math.Clamp(options.WordsPerMinute, 80, 450), 0), "rate");
            Check(espeak_SetParameter(ParameterPitch, Math.Clamp(options.Pitch, 0, 100), 0), "pitch");
            // Some voices (the +f variants) breathe: espeak-ng draws that noise from the C library's rand(), whose state
            // anything in the process may move (the .NET runtime does). Reseeding makes the clip depend only on the calls
            // made to espeak-ng, so the same calls in a new process give the same samples, and training is reproducible.
            srand(1);
            var collector = new Collector { Cancellation = cancellationToken };
            t_collector = collector;
            try
            {
                var bytes = Encoding.UTF8.GetBytes(text + "\0");
                fixed (byte* p = bytes)
                {
                    Check(espeak_Synth(p, (nuint)bytes.Length, 0, 1, 0, CharsUtf8 | EndPause, null, null), "synthesis");
                }
                Check(espeak_Synchronize(), "synthesis");
            }
            finally
            {
                t_collector = null;
            }
            cancellationToken.ThrowIfCancellationRequested();
            return new SpeechClip([.. collector.Samples], s_sampleRate, collector.Phonemes);
        }
    }

    private static void EnsureInitialized()
    {
        if (s_sampleRate > 0)
        {
            return;
        }
        int rate;
        try
        {
            rate = espeak_Initialize(AudioOutputSynchronous, 200, null, InitializePhonemeEvents | InitializeDontExit);
        }
        catch (DllNotFoundException ex)
        {
            throw new EspeakException($"{Library} is not installed (Debian package espeak-ng): {ex.Message}");
        }
        if (rate <= 0)
        {
            throw new EspeakException("espeak-ng failed to initialise: is espeak-ng-data installed?");
        }
        espeak_SetSynthCallback(&OnSynth);
        s_sampleRate = rate;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnSynth(short* wav, int count, EspeakEvent* events)
    {
        var collector = t_collector;
        if (collector is null || collector.Cancellation.IsCancellationRequested)
        {
            return 1; // Nobody is listening, or the caller gave up: abort.
        }
        if (wav is not null && count > 0)
        {
            collector.Samples.AddRange(new ReadOnlySpan<short>(wav, count));
        }
        for (var e = events; e is not null && e->Type != EventListTerminated; e++)
        {
            if (e->Type == EventPhoneme)
            {
                // Zero-terminated unless the name fills all 8 bytes.
                var id = new ReadOnlySpan<byte>(e->Id, 8);
                var end = id.IndexOf((byte)0);
                var name = Encoding.UTF8.GetString(end < 0 ? id : id[..end]);
                collector.Phonemes.Add(new PhonemeEvent(name, TimeSpan.FromMilliseconds(e->AudioPosition)));
            }
        }
        return 0;
    }

    private static void Check(int status, string what)
    {
        if (status != 0)
        {
            throw new EspeakException($"espeak-ng rejected the {what} (error {status}).");
        }
    }

    private sealed class Collector
    {
        public CancellationToken Cancellation { get; init; }

        public List<short> Samples { get; } = new(22050 * 4);
        public List<PhonemeEvent> Phonemes { get; } = [];
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct EspeakEvent
    {
        public int Type;
        public uint UniqueIdentifier;
        public int TextPosition;
        public int Length;
        public int AudioPosition;
        public int Sample;
        public nint UserData;
        public fixed byte Id[8];
    }

    [DllImport(Library)] private static extern int espeak_Initialize(int output, int bufferLength, byte* path, int options);
    [DllImport(Library)] private static extern void espeak_SetSynthCallback(delegate* unmanaged[Cdecl]<short*, int, EspeakEvent*, int> callback);
    [DllImport(Library)] private static extern int espeak_SetVoiceByName([MarshalAs(UnmanagedType.LPUTF8Str)] string name);
    [DllImport(Library)] private static extern int espeak_SetParameter(int parameter, int value, int relative);
    [DllImport(Library)] private static extern int espeak_Synth(void* text, nuint size, uint position, int positionType, uint endPosition, uint flags, uint* uniqueIdentifier, void* userData);
    [DllImport(Library)] private static extern int espeak_Synchronize();
    [DllImport("libc.so.6")] private static extern void srand(uint seed);
}

/// <summary>espeak-ng is missing, or refused a voice, parameter or text.</summary>
/// <param name="message">What went wrong.</param>
public sealed class EspeakException(string message) : Exception(message);
