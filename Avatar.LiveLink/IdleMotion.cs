namespace Avatar.LiveLink;

/// <summary>
/// What keeps a face alive between turns: blinks every 2 to 6 s and a slow, small sway of the head with the eyes
/// holding their gaze. The same seed gives the same motion, frame for frame.
/// </summary>
public sealed class IdleMotion(int seed)
{
    // Close fast, open slower, as eyelids do; one value per 30 FPS frame.
    private static readonly float[] s_blink = [0.4f, 0.9f, 1f, 0.75f, 0.45f, 0.2f, 0.05f];
    private const int EyeBlinkLeft = 0, EyeBlinkRight = 7, HeadYaw = 52, HeadPitch = 53, HeadRoll = 54, LeftEyeYaw = 55, LeftEyePitch = 56,
        RightEyeYaw = 58, RightEyePitch = 59;

    private readonly Random _random = new(seed);
    private readonly double[] _phases = Phases(new Random(seed ^ 0x5eed));
    private long _blinkStart = -1;

    /// <summary>The head and eye rotations at <paramref name="frame"/>, and blinks when <paramref name="blink"/> is set.</summary>
    /// <remarks>Frames only go forward: the blink schedule is drawn as it is reached.</remarks>
    public void Apply(long frame, Span<float> curves, bool blink)
    {
        var seconds = frame / (double)LiveLinkFacePacket.Fps;
        // Periods of 7, 11 and 13 s never line up, so the sway does not visibly repeat; amplitudes stay under 0.05.
        var yaw = (float)(0.04 * Math.Sin((2 * Math.PI * seconds / 7) + _phases[0]));
        var pitch = (float)(0.025 * Math.Sin((2 * Math.PI * seconds / 11) + _phases[1]));
        var roll = (float)(0.015 * Math.Sin((2 * Math.PI * seconds / 13) + _phases[2]));
        curves[HeadYaw] = yaw;
        curves[HeadPitch] = pitch;
        curves[HeadRoll] = roll;
        // The eyes counter the head a little, as a person's do when looking at someone.
        curves[LeftEyeYaw] = curves[RightEyeYaw] = -0.5f * yaw;
        curves[LeftEyePitch] = curves[RightEyePitch] = -0.5f * pitch;
        if (!blink)
        {
            return;
        }
        while (_blinkStart < 0 || frame >= _blinkStart + s_blink.Length)
        {
            _blinkStart = Math.Max(_blinkStart + s_blink.Length, frame) + _random.Next(2 * LiveLinkFacePacket.Fps, 6 * LiveLinkFacePacket.Fps);
        }
        var at = frame - _blinkStart;
        curves[EyeBlinkLeft] = curves[EyeBlinkRight] = at >= 0 ? s_blink[at] : 0f;
    }

    private static double[] Phases(Random random) => [random.NextDouble() * 2 * Math.PI, random.NextDouble() * 2 * Math.PI, random.NextDouble() * 2 * Math.PI];
}
