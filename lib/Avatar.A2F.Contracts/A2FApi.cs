namespace Avatar.A2F.Contracts;

/// <summary>Facts of the A2F API that are not in the protos: ports, the names it accepts, the blend shapes and their order.</summary>
public static class A2FApi
{
    /// <summary>
    /// Metadata on the controller's PushAudioStream call naming where inference should push that stream's animation
    /// (the controller's own animation endpoint), so that several controllers can share the inference replicas.
    /// Not part of NVIDIA's API; inference without it pushes to its configured address.
    /// </summary>
    public const string AnimationCallbackHeader = "avatar-animation-address";

    /// <summary>Default local ports (Kubernetes: 50010, 51010, 52010).</summary>
    public const int InferencePort = 50000, AnimationPort = 51000, ControllerPort = 52000;

    /// <summary>The emotions A2F understands.</summary>
    public static IReadOnlyList<string> Emotions { get; } =
        ["amazement", "anger", "cheekiness", "disgust", "fear", "grief", "joy", "outofbreath", "pain", "sadness"];

    /// <summary>The face parameter names (FaceParameters.float_params keys).</summary>
    public static IReadOnlyList<string> FaceParameters { get; } =
        ["skinStrength", "upperFaceStrength", "lowerFaceStrength", "eyelidOpenOffset", "lipOpenOffset", "upperFaceSmoothing",
         "lowerFaceSmoothing", "faceMaskLevel", "faceMaskSoftness", "blinkStrength", "tongueStrength"];

    /// <summary>The 68 blend shapes (ARKit 52 + tongue 16) in output order, as the animation header lists them.</summary>
    public static IReadOnlyList<string> BlendShapeNames { get; } =
    [
        "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft", "EyeSquintLeft", "EyeWideLeft",
        "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight", "EyeSquintRight", "EyeWideRight",
        "JawForward", "JawLeft", "JawRight", "JawOpen", "MouthClose",
        "MouthFunnel", "MouthPucker", "MouthLeft", "MouthRight", "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft", "MouthFrownRight",
        "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight", "MouthRollLower", "MouthRollUpper",
        "MouthShrugLower", "MouthShrugUpper", "MouthPressLeft", "MouthPressRight", "MouthLowerDownLeft", "MouthLowerDownRight",
        "MouthUpperUpLeft", "MouthUpperUpRight",
        "BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight", "CheekPuff", "CheekSquintLeft",
        "CheekSquintRight", "NoseSneerLeft", "NoseSneerRight", "TongueOut",
        "TongueTipUp", "TongueTipDown", "TongueTipLeft", "TongueTipRight", "TongueRollUp", "TongueRollDown", "TongueRollLeft",
        "TongueRollRight", "TongueUp", "TongueDown", "TongueLeft", "TongueRight", "TongueIn", "TongueStretch", "TongueWide", "TongueNarrow",
    ];
}
