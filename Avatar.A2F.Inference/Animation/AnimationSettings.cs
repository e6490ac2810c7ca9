namespace Avatar.A2F.Inference.Animation;

/// <summary>
/// What a client asked for in the stream header, in plain terms: A2F's face parameters, blend shape parameters and
/// emotion parameters. Unknown keys are rejected by the service before they get here; missing ones take A2F's defaults.
/// </summary>
public sealed record AnimationSettings
{
    /// <summary>Scales the mouth, jaw and cheeks (A2F lowerFaceStrength, default 1).</summary>
    public float LowerFaceStrength { get; init; } = 1;
    /// <summary>Scales eyes and brows (upperFaceStrength, default 1).</summary>
    public float UpperFaceStrength { get; init; } = 1;
    /// <summary>Overall scale of the face's motion (skinStrength, default 1).</summary>
    public float SkinStrength { get; init; } = 1;
    /// <summary>Scales the tongue shapes (tongueStrength, default 1).</summary>
    public float TongueStrength { get; init; } = 1;
    /// <summary>Scales the automatic blinks; 0 turns them off (blinkStrength, default 1).</summary>
    public float BlinkStrength { get; init; } = 1;
    /// <summary>Added to JawOpen, so the lips rest more open or closed (lipOpenOffset, default 0).</summary>
    public float LipOpenOffset { get; init; }
    /// <summary>Opens (positive) or closes (negative) the eyelids (eyelidOpenOffset, default 0).</summary>
    public float EyelidOpenOffset { get; init; }
    /// <summary>
    /// Time constant in seconds of the lower face's smoothing (lowerFaceSmoothing, default 0.015). Longer blurs the
    /// lips' closures on p/b/m and rounding, which the lip-sync stream's own averaging already steadies (MODEL-CARD.md).
    /// </summary>
    public float LowerFaceSmoothing { get; init; } = 0.015f;
    /// <summary>Time constant in seconds of the upper face's smoothing (upperFaceSmoothing, default 0.05).</summary>
    public float UpperFaceSmoothing { get; init; } = 0.05f;

    /// <summary>Per blend shape multipliers (default 1): output = multiplier * weight + offset.</summary>
    public IReadOnlyDictionary<string, float> Multipliers { get; init; } = new Dictionary<string, float>();
    /// <summary>Per blend shape offsets (default 0).</summary>
    public IReadOnlyDictionary<string, float> Offsets { get; init; } = new Dictionary<string, float>();
    /// <summary>Clamp every output weight to [0, 1].</summary>
    public bool Clamp { get; init; }

    /// <summary>The emotion the clip starts with (emotion name to 0..1).</summary>
    public IReadOnlyDictionary<string, float> BeginningEmotion { get; init; } = new Dictionary<string, float>();
    /// <summary>Seconds an emotion change takes to blend in (live_transition_time, default 0.5).</summary>
    public float EmotionTransitionTime { get; init; } = 0.5f;
    /// <summary>How strongly emotions show (emotion_strength, default 0.6).</summary>
    public float EmotionStrength { get; init; } = 0.6f;
    /// <summary>At most this many emotions show at once, the strongest (max_emotions, default 3).</summary>
    public int MaxEmotions { get; init; } = 3;
    /// <summary>Exaggerates (above 1) or flattens (below 1) the differences between emotions (emotion_contrast, default 1).</summary>
    public float EmotionContrast { get; init; } = 1;
}
