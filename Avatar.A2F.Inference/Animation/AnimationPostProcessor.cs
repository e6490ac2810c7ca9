using Avatar.A2F.Inference.LipSync;

namespace Avatar.A2F.Inference.Animation;

/// <summary>
/// Turns the lip-sync output of one stream into the face a client asked for: emotions (joy smiles, sadness frowns...),
/// automatic blinks, the face parameters (strengths, offsets, smoothing), then the blend shape multipliers, offsets and
/// clamping, in that order, as A2F applies them.
/// </summary>
public sealed class AnimationPostProcessor
{
    /// <summary>Emotion names A2F understands.</summary>
    public static IReadOnlyList<string> Emotions => Avatar.A2F.Contracts.A2FApi.Emotions;

    private static readonly Dictionary<string, (int Shape, float Weight)[]> s_emotionShapes = new()
    {
        ["amazement"] = Shapes(("BrowInnerUp", .6f), ("BrowOuterUpLeft", .6f), ("BrowOuterUpRight", .6f), ("EyeWideLeft", .6f), ("EyeWideRight", .6f), ("JawOpen", .1f)),
        ["anger"] = Shapes(("BrowDownLeft", .7f), ("BrowDownRight", .7f), ("NoseSneerLeft", .3f), ("NoseSneerRight", .3f), ("MouthPressLeft", .3f), ("MouthPressRight", .3f), ("EyeSquintLeft", .3f), ("EyeSquintRight", .3f)),
        ["cheekiness"] = Shapes(("MouthSmileLeft", .55f), ("MouthSmileRight", .15f), ("MouthDimpleLeft", .3f), ("EyeSquintLeft", .25f), ("BrowOuterUpRight", .3f)),
        ["disgust"] = Shapes(("NoseSneerLeft", .6f), ("NoseSneerRight", .6f), ("MouthUpperUpLeft", .4f), ("MouthUpperUpRight", .4f), ("BrowDownLeft", .3f), ("BrowDownRight", .3f)),
        ["fear"] = Shapes(("EyeWideLeft", .5f), ("EyeWideRight", .5f), ("BrowInnerUp", .5f), ("MouthStretchLeft", .4f), ("MouthStretchRight", .4f)),
        ["grief"] = Shapes(("MouthFrownLeft", .6f), ("MouthFrownRight", .6f), ("BrowInnerUp", .7f), ("EyeSquintLeft", .3f), ("EyeSquintRight", .3f), ("MouthShrugLower", .3f)),
        ["joy"] = Shapes(("MouthSmileLeft", .6f), ("MouthSmileRight", .6f), ("CheekSquintLeft", .4f), ("CheekSquintRight", .4f), ("EyeSquintLeft", .2f), ("EyeSquintRight", .2f)),
        ["outofbreath"] = Shapes(("JawOpen", .2f), ("MouthShrugUpper", .2f), ("CheekPuff", .15f), ("BrowInnerUp", .2f)),
        ["pain"] = Shapes(("EyeSquintLeft", .6f), ("EyeSquintRight", .6f), ("BrowDownLeft", .5f), ("BrowDownRight", .5f), ("MouthStretchLeft", .4f), ("MouthStretchRight", .4f), ("NoseSneerLeft", .3f), ("NoseSneerRight", .3f)),
        ["sadness"] = Shapes(("MouthFrownLeft", .5f), ("MouthFrownRight", .5f), ("BrowInnerUp", .6f), ("MouthPressLeft", .1f), ("MouthPressRight", .1f)),
    };

    // Which shapes belong to the upper face (eyes, brows): the rest, mouth, jaw, cheeks and nose, are lower face.
    private static readonly bool[] s_upper = [.. BlendShapes.Names.Select(n => n.StartsWith("Eye", StringComparison.Ordinal) || n.StartsWith("Brow", StringComparison.Ordinal))];
    private static readonly bool[] s_tongue = [.. BlendShapes.Names.Select(n => n.StartsWith("Tongue", StringComparison.Ordinal))];
    private static readonly int s_blinkLeft = BlendShapes.IndexOf("EyeBlinkLeft");
    private static readonly int s_blinkRight = BlendShapes.IndexOf("EyeBlinkRight");
    private static readonly int s_wideLeft = BlendShapes.IndexOf("EyeWideLeft");
    private static readonly int s_wideRight = BlendShapes.IndexOf("EyeWideRight");

    private readonly AnimationSettings _settings;
    private readonly float[] _multipliers = new float[BlendShapes.Count];
    private readonly float[] _offsets = new float[BlendShapes.Count];
    private readonly float[] _emotionTarget = new float[Emotions.Count];
    private readonly float[] _emotionCurrent = new float[Emotions.Count];
    private readonly float[] _smoothed = new float[BlendShapes.Count];
    private readonly Random _blinks;
    private double _nextBlink;
    private bool _first = true;

    /// <summary>Creates the post-processor of one stream; <paramref name="seed"/> varies the blink rhythm between streams.</summary>
    public AnimationPostProcessor(AnimationSettings settings, int seed = 0)
    {
        _settings = settings;
        Array.Fill(_multipliers, 1f);
        foreach (var (name, value) in settings.Multipliers)
        {
            _multipliers[BlendShapes.IndexOf(name)] = value;
        }
        foreach (var (name, value) in settings.Offsets)
        {
            _offsets[BlendShapes.IndexOf(name)] = value;
        }
        SetEmotion(settings.BeginningEmotion);
        Array.Copy(_emotionTarget, _emotionCurrent, _emotionTarget.Length);
        _blinks = new Random(seed);
        _nextBlink = 1.5 + _blinks.NextDouble() * 2;
    }

    /// <summary>The emotion to move towards from now on (emotion name to 0..1; missing names are 0).</summary>
    public void SetEmotion(IReadOnlyDictionary<string, float> emotion)
    {
        Array.Clear(_emotionTarget);
        foreach (var (name, value) in emotion)
        {
            var index = IndexOfEmotion(name);
            _emotionTarget[index] = Math.Clamp(value, 0, 1);
        }
        // Keep the strongest few, then apply contrast (a power curve around the strongest).
        var kept = _emotionTarget.Select((v, i) => (v, i)).OrderByDescending(p => p.v).Take(Math.Clamp(_settings.MaxEmotions, 1, 6)).Select(p => p.i).ToHashSet();
        var max = _emotionTarget.Max();
        for (var i = 0; i < _emotionTarget.Length; i++)
        {
            _emotionTarget[i] = !kept.Contains(i) || max <= 0 ? 0 : max * MathF.Pow(_emotionTarget[i] / max, _settings.EmotionContrast);
        }
    }

    /// <summary>The index of an emotion name; throws a clear error for names A2F does not know.</summary>
    public static int IndexOfEmotion(string name)
    {
        for (var i = 0; i < Emotions.Count; i++)
        {
            if (string.Equals(Emotions[i], name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        throw new ArgumentException($"Unknown emotion '{name}'; known: {string.Join(", ", Emotions)}.");
    }

    /// <summary>Post-processes one 30 FPS frame in place.</summary>
    public void Apply(BlendFrame frame)
    {
        var w = frame.Weights;
        var dt = 1f / LipSyncStream.FramesPerSecond;
        var transition = _settings.EmotionTransitionTime <= 0 ? 1 : 1 - MathF.Exp(-dt / _settings.EmotionTransitionTime);
        for (var e = 0; e < _emotionCurrent.Length; e++)
        {
            _emotionCurrent[e] += transition * (_emotionTarget[e] - _emotionCurrent[e]);
            if (_emotionCurrent[e] < 1e-4f)
            {
                continue;
            }
            foreach (var (shape, weight) in s_emotionShapes[Emotions[e]])
            {
                w[shape] += _settings.EmotionStrength * _emotionCurrent[e] * weight;
            }
        }
        var blink = Blink(frame.TimeCode) * _settings.BlinkStrength;
        w[s_blinkLeft] += blink;
        w[s_blinkRight] += blink;
        var eyelid = _settings.EyelidOpenOffset;
        w[eyelid >= 0 ? s_wideLeft : s_blinkLeft] += Math.Abs(eyelid);
        w[eyelid >= 0 ? s_wideRight : s_blinkRight] += Math.Abs(eyelid);
        w[BlendShapes.JawOpen] += _settings.LipOpenOffset;

        var lowerAlpha = Alpha(_settings.LowerFaceSmoothing, dt);
        var upperAlpha = Alpha(_settings.UpperFaceSmoothing, dt);
        for (var s = 0; s < w.Length; s++)
        {
            var strength = _settings.SkinStrength * (s_upper[s] ? _settings.UpperFaceStrength : _settings.LowerFaceStrength)
                * (s_tongue[s] ? _settings.TongueStrength : 1);
            var target = w[s] * strength;
            // Blinks are fast by nature: smoothing the eyelids would turn them into a slow droop.
            _smoothed[s] = _first || s == s_blinkLeft || s == s_blinkRight ? target : _smoothed[s] + ((s_upper[s] ? upperAlpha : lowerAlpha) * (target - _smoothed[s]));
            var value = (_multipliers[s] * _smoothed[s]) + _offsets[s];
            w[s] = _settings.Clamp ? Math.Clamp(value, 0, 1) : value;
        }
        _first = false;
    }

    /// <summary>A 150 ms blink every 2.5 to 5.5 seconds: a face that never blinks looks dead.</summary>
    private float Blink(double time)
    {
        const double duration = 0.15;
        if (time >= _nextBlink + duration)
        {
            _nextBlink += 2.5 + (_blinks.NextDouble() * 3);
        }
        var phase = (time - _nextBlink) / duration;
        return phase is < 0 or > 1 ? 0 : (float)Math.Sin(Math.PI * phase);
    }

    private static float Alpha(float seconds, float dt) => seconds <= 0 ? 1 : 1 - MathF.Exp(-dt / seconds);

    private static (int, float)[] Shapes(params (string Name, float Weight)[] shapes) =>
        [.. shapes.Select(s => (BlendShapes.IndexOf(s.Name), s.Weight))];
}
