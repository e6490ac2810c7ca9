using Avatar.A2F.Inference.Animation;
using Avatar.A2F.Inference.LipSync;

namespace Avatar.Tests.Animation;

public sealed class AnimationPostProcessorTests
{
    private static readonly int s_smileLeft = BlendShapes.IndexOf("MouthSmileLeft");
    private static readonly int s_frownLeft = BlendShapes.IndexOf("MouthFrownLeft");
    private static readonly int s_blinkLeft = BlendShapes.IndexOf("EyeBlinkLeft");
    private static readonly int s_browInnerUp = BlendShapes.IndexOf("BrowInnerUp");

    [Fact]
    public void JoySmilesAndSadnessFrowns()
    {
        var joy = Run(new AnimationSettings { BeginningEmotion = new Dictionary<string, float> { ["joy"] = 1 } }, seconds: 1);
        var sadness = Run(new AnimationSettings { BeginningEmotion = new Dictionary<string, float> { ["sadness"] = 1 } }, seconds: 1);
        var neutral = Run(new AnimationSettings(), seconds: 1);

        Assert.True(joy[^1].Weights[s_smileLeft] > 0.3f);
        Assert.True(sadness[^1].Weights[s_frownLeft] > 0.25f);
        Assert.Equal(0, neutral[^1].Weights[s_smileLeft]);
        Assert.Equal(0, neutral[^1].Weights[s_frownLeft]);
    }

    [Fact]
    public void AnEmotionChangeBlendsInOverTheTransitionTime()
    {
        var post = new AnimationPostProcessor(new AnimationSettings { EmotionTransitionTime = 0.5f, BlinkStrength = 0 });
        post.SetEmotion(new Dictionary<string, float> { ["joy"] = 1 });
        var frames = Frames(30);
        frames.ForEach(post.Apply);

        Assert.True(frames[1].Weights[s_smileLeft] < frames[10].Weights[s_smileLeft]);
        Assert.True(frames[10].Weights[s_smileLeft] < frames[29].Weights[s_smileLeft]);
    }

    [Fact]
    public void MultipliersOffsetsAndClampingShapeTheOutput()
    {
        var settings = new AnimationSettings
        {
            Multipliers = new Dictionary<string, float> { ["JawOpen"] = 3 },
            Offsets = new Dictionary<string, float> { ["BrowInnerUp"] = 0.25f },
            LowerFaceSmoothing = 0,
            BlinkStrength = 0,
        };
        var frame = new BlendFrame(0, new float[BlendShapes.Count]);
        frame.Weights[BlendShapes.JawOpen] = 0.5f;

        new AnimationPostProcessor(settings).Apply(frame);
        Assert.Equal(1.5f, frame.Weights[BlendShapes.JawOpen], 5);
        Assert.Equal(0.25f, frame.Weights[s_browInnerUp], 5);

        var clamped = new BlendFrame(0, new float[BlendShapes.Count]);
        clamped.Weights[BlendShapes.JawOpen] = 0.5f;
        new AnimationPostProcessor(settings with { Clamp = true }).Apply(clamped);
        Assert.Equal(1f, clamped.Weights[BlendShapes.JawOpen]);
    }

    [Fact]
    public void LowerFaceStrengthZeroStillsTheMouth()
    {
        var frame = new BlendFrame(0, new float[BlendShapes.Count]);
        frame.Weights[BlendShapes.JawOpen] = 0.6f;

        new AnimationPostProcessor(new AnimationSettings { LowerFaceStrength = 0 }).Apply(frame);

        Assert.Equal(0, frame.Weights[BlendShapes.JawOpen]);
    }

    [Fact]
    public void TheEyesBlinkEveryFewSecondsUnlessBlinkStrengthIsZero()
    {
        var blinking = Run(new AnimationSettings(), seconds: 12);
        var still = Run(new AnimationSettings { BlinkStrength = 0 }, seconds: 12);

        var closures = blinking.Zip(blinking.Skip(1)).Count(p => p.First.Weights[s_blinkLeft] < 0.5f && p.Second.Weights[s_blinkLeft] >= 0.5f);
        Assert.InRange(closures, 2, 5);
        Assert.All(still, f => Assert.Equal(0, f.Weights[s_blinkLeft]));
    }

    [Fact]
    public void AnUnknownEmotionIsRejectedByName()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new AnimationPostProcessor(new AnimationSettings { BeginningEmotion = new Dictionary<string, float> { ["smugness"] = 1 } }));

        Assert.Contains("smugness", error.Message);
    }

    private static List<BlendFrame> Run(AnimationSettings settings, double seconds)
    {
        var post = new AnimationPostProcessor(settings);
        var frames = Frames((int)(seconds * 30));
        frames.ForEach(post.Apply);
        return frames;
    }

    private static List<BlendFrame> Frames(int count) =>
        [.. Enumerable.Range(0, count).Select(k => new BlendFrame(k / 30.0, new float[BlendShapes.Count]))];
}
