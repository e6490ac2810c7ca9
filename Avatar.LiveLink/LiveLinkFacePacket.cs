using System.Buffers.Binary;
using System.Text;

namespace Avatar.LiveLink;

/// <summary>
/// The UDP packet that Epic's Live Link Face app sends and Unreal's Apple ARKit Face Support source reads (port 11111).
/// Every number is big-endian (the engine serializes it in network byte order):
/// <c>uint8 version (6) | int32 length, device id | int32 length, subject name | int32 frame number, float sub-frame,
/// int32 fps numerator, int32 fps denominator | uint8 curve count (61) | 61 float curves</c>.
/// </summary>
public static class LiveLinkFacePacket
{
    public const byte Version = 6;
    public const int Fps = 30;
    public const int ArkitCount = 52;

    /// <summary>The engine refuses longer packets (its MAX_BLEND_SHAPE_PACKET_SIZE); names share what is left.</summary>
    public const int MaxPacketBytes = 774;

    /// <summary>The 61 curves in the order of the engine's EARFaceBlendShape: ARKit's 52, then head and eye rotations.</summary>
    public static IReadOnlyList<string> CurveNames { get; } =
    [
        "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft", "EyeSquintLeft", "EyeWideLeft",
        "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight", "EyeSquintRight", "EyeWideRight",
        "JawForward", "JawLeft", "JawRight", "JawOpen",
        "MouthClose", "MouthFunnel", "MouthPucker", "MouthLeft", "MouthRight", "MouthSmileLeft", "MouthSmileRight",
        "MouthFrownLeft", "MouthFrownRight", "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight",
        "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper", "MouthPressLeft", "MouthPressRight",
        "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight",
        "BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight",
        "CheekPuff", "CheekSquintLeft", "CheekSquintRight", "NoseSneerLeft", "NoseSneerRight", "TongueOut",
        "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
    ];

    public static int CurveCount => CurveNames.Count;

    /// <summary>One packet; <paramref name="frameTime"/> counts 30ths of a second (whole part: frame number, rest: sub-frame).</summary>
    public static byte[] Encode(string deviceId, string subject, double frameTime, ReadOnlySpan<float> curves)
    {
        if (curves.Length != CurveCount)
        {
            throw new ArgumentException($"A packet carries {CurveCount} curves, not {curves.Length}.", nameof(curves));
        }
        var device = Encoding.UTF8.GetBytes(deviceId);
        var name = Encoding.UTF8.GetBytes(subject);
        var packet = new byte[1 + 4 + device.Length + 4 + name.Length + 16 + 1 + (4 * CurveCount)];
        var span = packet.AsSpan();
        span[0] = Version;
        var at = WriteString(span, 1, device);
        at = WriteString(span, at, name);
        var frame = Math.Floor(frameTime);
        BinaryPrimitives.WriteInt32BigEndian(span[at..], (int)frame);
        BinaryPrimitives.WriteSingleBigEndian(span[(at + 4)..], (float)(frameTime - frame));
        BinaryPrimitives.WriteInt32BigEndian(span[(at + 8)..], Fps);
        BinaryPrimitives.WriteInt32BigEndian(span[(at + 12)..], 1);
        at += 16;
        span[at++] = (byte)CurveCount;
        foreach (var curve in curves)
        {
            BinaryPrimitives.WriteSingleBigEndian(span[at..], curve);
            at += 4;
        }
        return packet;
    }

    private static int WriteString(Span<byte> span, int at, byte[] text)
    {
        BinaryPrimitives.WriteInt32BigEndian(span[at..], text.Length);
        text.CopyTo(span[(at + 4)..]);
        return at + 4 + text.Length;
    }
}
