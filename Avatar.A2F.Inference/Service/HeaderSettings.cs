using Avatar.A2F.Contracts;
using Avatar.A2F.Inference.Animation;
using Grpc.Core;
using Nvidia.Ace.A2F.V1;

namespace Avatar.A2F.Inference.Service;

/// <summary>Turns a stream header's parameters into <see cref="AnimationSettings"/>, refusing unknown face parameters with INVALID_ARGUMENT.</summary>
public static class HeaderSettings
{
    /// <summary>The settings the header asks for.</summary>
    public static AnimationSettings From(AudioStreamHeader header)
    {
        var face = header.FaceParams?.FloatParams ?? new Google.Protobuf.Collections.MapField<string, float>();
        foreach (var key in face.Keys.Where(k => !A2FApi.FaceParameters.Contains(k)))
        {
            throw Invalid($"Unknown face parameter '{key}'; known: {string.Join(", ", A2FApi.FaceParameters)}.");
        }
        float Face(string key, float fallback) => face.TryGetValue(key, out var value) ? value : fallback;
        // Blend shape and emotion names are checked where they are used, by AnimationPostProcessor.
        var shapes = header.BlendshapeParams;
        var emotion = header.EmotionParams;
        var post = header.EmotionPostProcessingParams;
        var defaults = new AnimationSettings();
        return new AnimationSettings
        {
            SkinStrength = Face("skinStrength", defaults.SkinStrength),
            UpperFaceStrength = Face("upperFaceStrength", defaults.UpperFaceStrength),
            LowerFaceStrength = Face("lowerFaceStrength", defaults.LowerFaceStrength),
            TongueStrength = Face("tongueStrength", defaults.TongueStrength),
            BlinkStrength = Face("blinkStrength", defaults.BlinkStrength),
            LipOpenOffset = Face("lipOpenOffset", defaults.LipOpenOffset),
            EyelidOpenOffset = Face("eyelidOpenOffset", defaults.EyelidOpenOffset),
            UpperFaceSmoothing = Face("upperFaceSmoothing", defaults.UpperFaceSmoothing),
            LowerFaceSmoothing = Face("lowerFaceSmoothing", defaults.LowerFaceSmoothing),
            Multipliers = shapes?.BsWeightMultipliers.ToDictionary() ?? [],
            Offsets = shapes?.BsWeightOffsets.ToDictionary() ?? [],
            Clamp = shapes is { HasEnableClampingBsWeight: true, EnableClampingBsWeight: true },
            BeginningEmotion = emotion?.BeginningEmotion.ToDictionary() ?? [],
            EmotionTransitionTime = emotion is { HasLiveTransitionTime: true } ? emotion.LiveTransitionTime : defaults.EmotionTransitionTime,
            EmotionStrength = post is { HasEmotionStrength: true } ? post.EmotionStrength : defaults.EmotionStrength,
            MaxEmotions = post is { HasMaxEmotions: true } ? post.MaxEmotions : defaults.MaxEmotions,
            EmotionContrast = post is { HasEmotionContrast: true } ? post.EmotionContrast : defaults.EmotionContrast,
        };
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
