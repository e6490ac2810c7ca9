using System.Buffers;
using System.Diagnostics;

namespace Avatar.LiveLink;

/// <summary>
/// Sends the face to Live Link on the audio clock. A turn's audio "plays" in real time from its first sample (into the
/// speaker, the WAV file, or neither), and each frame goes out as a packet when the audio reaches the frame's time;
/// when audio runs short, the clock waits for it, and so does the face. Between turns, idle motion goes out at 30 FPS.
/// Frame numbers count 30ths of a second and never go back: a turn's frame is its start's frame number plus its time.
/// </summary>
public sealed class FacePlayer : IDisposable
{
    private static readonly long s_framePeriod = Stopwatch.Frequency / LiveLinkFacePacket.Fps;

    // What goes to the player ahead of the clock, so that it never runs dry between two ticks.
    private static readonly TimeSpan s_speakerLead = TimeSpan.FromMilliseconds(60);

    private readonly Lock _lock = new();
    private readonly LiveLinkSender _sender;
    private readonly IdleMotion? _idle;
    private readonly WavWriter? _wav;
    private readonly Speaker? _speaker;
    private readonly float[] _curves = new float[LiveLinkFacePacket.CurveCount];
    private readonly List<double> _lateness = [];
    private SpokenTurn? _turn;
    private double _nextFrame;
    private long _nextIdleAt = Stopwatch.GetTimestamp();

    /// <param name="idle">Motion between turns; null sends nothing between turns (file mode).</param>
    public FacePlayer(LiveLinkSender sender, IdleMotion? idle, WavWriter? wav, Speaker? speaker)
    {
        _sender = sender;
        _idle = idle;
        _wav = wav;
        _speaker = speaker;
    }

    /// <summary>Packets sent so far.</summary>
    public int PacketsSent { get; private set; }

    /// <summary>How far behind the audio clock each speech frame went out, in milliseconds.</summary>
    public IReadOnlyList<double> Lateness
    {
        get
        {
            lock (_lock)
            {
                return [.. _lateness];
            }
        }
    }

    /// <summary>
    /// A new turn, replacing (and silencing) any turn still playing. Its audio starts once the first frame is there, or the
    /// turn has ended; the voice waits for a late face at most <paramref name="maxFaceWait"/>, then goes on.
    /// </summary>
    public SpokenTurn BeginTurn(TimeSpan maxFaceWait)
    {
        lock (_lock)
        {
            StopTurn();
            _turn = new SpokenTurn(_lock, maxFaceWait);
            return _turn;
        }
    }

    /// <summary>Stops the voice at once and sends the face at rest.</summary>
    public void Interrupt()
    {
        lock (_lock)
        {
            if (_turn is null)
            {
                return;
            }
            StopTurn();
            _nextIdleAt = Stopwatch.GetTimestamp();
            SendRest();
        }
    }

    /// <summary>Ticks every few milliseconds until cancelled: a frame is never more than a tick late.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(4));
        try
        {
            do
            {
                Tick(Stopwatch.GetTimestamp());
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            StopTurn();
            _wav?.Dispose();
            _speaker?.Dispose();
        }
    }

    private void Tick(long now)
    {
        lock (_lock)
        {
            if (_turn is { } turn && (turn.Started || turn.ReadyToStart(now)))
            {
                Play(turn, now);
                return;
            }
            if (_idle is not null && now >= _nextIdleAt)
            {
                SendRest();
                // A late tick sends one frame, not a burst: idle frames have no audio to keep up with.
                _nextIdleAt = Math.Max(_nextIdleAt + s_framePeriod, now);
            }
        }
    }

    private void Play(SpokenTurn turn, long now)
    {
        if (!turn.Started)
        {
            turn.Start(now, _nextFrame);
        }
        var rate = turn.SampleRate;
        var total = rate == 0 ? 0 : turn.Audio.WrittenCount / 2;
        var played = turn.Advance(now, total);
        var pcm = turn.Audio.WrittenSpan;
        _wav?.Write(pcm[(2 * turn.WavSamples)..(2 * played)], rate);
        turn.WavSamples = played;
        if (_speaker is not null && rate > 0)
        {
            var ahead = (int)Math.Min(total, played + (long)(s_speakerLead.TotalSeconds * rate));
            _speaker.Write(pcm[(2 * turn.SpeakerSamples)..(2 * ahead)], rate);
            turn.SpeakerSamples = Math.Max(turn.SpeakerSamples, ahead);
        }
        var clock = rate == 0 ? 0 : played / (double)rate;
        var finished = turn.Ended && played >= total;
        while (turn.Frames.TryPeek(out var frame) && (frame.Time <= clock || finished))
        {
            turn.Frames.Dequeue();
            var frameTime = turn.FrameBase + (frame.Time * LiveLinkFacePacket.Fps);
            frame.Curves.CopyTo(_curves, 0);
            _idle?.Apply((long)frameTime, _curves, blink: false);
            Send(frameTime);
            _lateness.Add(Math.Max(0, clock - frame.Time) * 1000);
            _nextFrame = Math.Max(_nextFrame, Math.Floor(frameTime) + 1);
        }
        if (finished)
        {
            _wav?.Flush();
            _speaker?.Finish();
            _turn = null;
            _nextIdleAt = now + s_framePeriod;
            turn.Complete(interrupted: false);
        }
    }

    private void StopTurn()
    {
        if (_turn is not { } turn)
        {
            return;
        }
        _turn = null;
        _speaker?.Stop();
        _wav?.Flush();
        if (turn.Started)
        {
            _nextFrame = Math.Max(_nextFrame, Math.Floor(turn.FrameBase + (turn.Clock * LiveLinkFacePacket.Fps)) + 1);
        }
        turn.Complete(interrupted: true);
    }

    /// <summary>The face at rest with its idle motion (a blink, the head's sway), or all zeros without idle motion.</summary>
    private void SendRest()
    {
        Array.Clear(_curves);
        _idle?.Apply((long)_nextFrame, _curves, blink: true);
        Send(_nextFrame);
        _nextFrame++;
    }

    private void Send(double frameTime)
    {
        _sender.Send(frameTime, _curves);
        PacketsSent++;
    }
}

/// <summary>One turn's audio and face, as they arrive; the <see cref="FacePlayer"/> plays them.</summary>
public sealed class SpokenTurn
{
    private readonly Lock _lock;
    private readonly TimeSpan _maxFaceWait;
    private readonly TaskCompletionSource<bool> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ArkitMapping? _mapping;
    private long _firstAudioAt;
    private long _lastTick;
    private long _waitingSince;
    private double _played;
    private double _coveredUntil;

    internal SpokenTurn(Lock sync, TimeSpan maxFaceWait)
    {
        _lock = sync;
        _maxFaceWait = maxFaceWait;
    }

    /// <summary>Completes when the turn has played to its end (false) or was stopped (true).</summary>
    public Task<bool> Finished => _completion.Task;

    /// <summary>Frames received for this turn.</summary>
    public int FramesReceived { get; private set; }

    internal ArrayBufferWriter<byte> Audio { get; } = new();

    internal Queue<(double Time, float[] Curves)> Frames { get; } = new();

    internal int SampleRate { get; private set; }

    internal bool Ended { get; private set; }

    internal bool Started { get; private set; }

    internal double FrameBase { get; private set; }

    internal double Clock => SampleRate == 0 ? 0 : _played / SampleRate;

    internal int WavSamples { get; set; }

    internal int SpeakerSamples { get; set; }

    /// <summary>The names of the frames' weights (the A2F header's, or Chat's blendshapes.header).</summary>
    public void SetNames(ArkitMapping mapping)
    {
        lock (_lock)
        {
            _mapping = mapping;
        }
    }

    /// <summary>16-bit mono PCM at <paramref name="time"/> seconds on the turn's clock; a gap before it is silence.</summary>
    public void AddAudio(double time, ReadOnlySpan<byte> pcm16, int sampleRate)
    {
        lock (_lock)
        {
            if (SampleRate != 0 && sampleRate != SampleRate)
            {
                throw new ToolException($"The turn's audio changed from {SampleRate} Hz to {sampleRate} Hz.");
            }
            SampleRate = sampleRate;
            var at = 2 * (int)Math.Round(time * sampleRate);
            if (at > Audio.WrittenCount)
            {
                Audio.GetSpan(at - Audio.WrittenCount)[..(at - Audio.WrittenCount)].Clear();
                Audio.Advance(at - Audio.WrittenCount);
            }
            Audio.Write(pcm16);
            if (_firstAudioAt == 0)
            {
                _firstAudioAt = Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>A frame of weights (named as <see cref="SetNames"/> said) at <paramref name="time"/> seconds on the turn's clock.</summary>
    public void AddFrame(double time, ReadOnlySpan<float> weights)
    {
        lock (_lock)
        {
            var mapping = _mapping ?? throw new ToolException("A frame came before the names of its blend shapes.");
            var curves = new float[LiveLinkFacePacket.CurveCount];
            mapping.Map(weights, curves);
            Frames.Enqueue((time, curves));
            FramesReceived++;
            _coveredUntil = Math.Max(_coveredUntil, time + (1.0 / LiveLinkFacePacket.Fps));
        }
    }

    /// <summary>No more audio or frames will come: the turn ends when its audio has played.</summary>
    public void End()
    {
        lock (_lock)
        {
            Ended = true;
        }
    }

    internal bool ReadyToStart(long now) =>
        Ended || (Audio.WrittenCount > 0 && (Frames.Count > 0 || Stopwatch.GetElapsedTime(_firstAudioAt, now) >= _maxFaceWait));

    internal void Start(long now, double frameBase)
    {
        Started = true;
        _lastTick = now;
        FrameBase = frameBase;
    }

    /// <summary>
    /// Moves the clock on by the time since the last tick, never past the audio there is, nor past the frames there are
    /// while more are coming: Chat sends a sentence's face after its voice, and a late face would lag the voice. The
    /// voice waits for the face up to the turn's limit, then goes on alone until the face catches up. The samples played.
    /// </summary>
    internal int Advance(long now, int total)
    {
        var wanted = Math.Min(total, _played + (Stopwatch.GetElapsedTime(_lastTick, now).TotalSeconds * SampleRate));
        var covered = _coveredUntil * SampleRate;
        if (!Ended && wanted > covered)
        {
            _waitingSince = _waitingSince == 0 ? now : _waitingSince;
            if (Stopwatch.GetElapsedTime(_waitingSince, now) < _maxFaceWait)
            {
                wanted = Math.Max(_played, covered);
            }
        }
        else
        {
            _waitingSince = 0;
        }
        _played = wanted;
        _lastTick = now;
        return (int)_played;
    }

    internal void Complete(bool interrupted) => _completion.TrySetResult(interrupted);
}
