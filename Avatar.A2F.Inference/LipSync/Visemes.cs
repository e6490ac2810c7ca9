namespace Avatar.A2F.Inference.LipSync;

/// <summary>The 15 visemes the model predicts (OVRLipSync's set), in model output order.</summary>
public enum Viseme
{
    /// <summary>Silence: the face at rest.</summary>
    Sil,
    /// <summary>p b m: lips pressed.</summary>
    PP,
    /// <summary>f v: lower lip to upper teeth.</summary>
    FF,
    /// <summary>th dh.</summary>
    TH,
    /// <summary>t d.</summary>
    DD,
    /// <summary>k g ng.</summary>
    KK,
    /// <summary>sh zh ch jh.</summary>
    CH,
    /// <summary>s z.</summary>
    SS,
    /// <summary>n l.</summary>
    NN,
    /// <summary>r er.</summary>
    RR,
    /// <summary>Open vowels (aa ao ay aw).</summary>
    AA,
    /// <summary>Mid vowels (eh ae ah ey hh).</summary>
    E,
    /// <summary>Close front vowels (ih iy y).</summary>
    IH,
    /// <summary>Rounded mid vowels (ow oy uh).</summary>
    OH,
    /// <summary>Rounded close vowels (uw w).</summary>
    OU,
}

/// <summary>
/// Viseme to blend shape weights: LIPSYNC.md's starting table, frozen here. Blending this table in C# with the model's
/// viseme probabilities keeps the mapping adjustable per rig without retraining.
/// </summary>
public static class VisemeTable
{
    /// <summary>Number of visemes.</summary>
    public const int Count = 15;

    /// <summary>weights[viseme][blend shape], blend shapes in <see cref="BlendShapes.Names"/> order.</summary>
    public static float[][] Weights { get; } = Build();

    private static float[][] Build()
    {
        var table = new float[Count][];
        for (var v = 0; v < Count; v++)
        {
            table[v] = new float[BlendShapes.Count];
        }
        void Set(Viseme viseme, params (string Shape, float Weight)[] weights)
        {
            foreach (var (shape, weight) in weights)
            {
                table[(int)viseme][BlendShapes.IndexOf(shape)] = weight;
            }
        }
        Set(Viseme.PP, ("MouthClose", .7f), ("MouthPressLeft", .5f), ("MouthPressRight", .5f), ("MouthPucker", .3f));
        Set(Viseme.FF, ("MouthRollLower", .6f), ("MouthUpperUpLeft", .2f), ("MouthUpperUpRight", .2f), ("JawOpen", .05f));
        Set(Viseme.TH, ("JawOpen", .15f), ("MouthUpperUpLeft", .1f), ("MouthUpperUpRight", .1f), ("TongueOut", .3f));
        Set(Viseme.DD, ("JawOpen", .2f), ("MouthClose", .15f), ("MouthPressLeft", .3f), ("MouthPressRight", .3f), ("TongueTipUp", .4f));
        Set(Viseme.KK, ("JawOpen", .25f), ("MouthStretchLeft", .2f), ("MouthStretchRight", .2f), ("TongueUp", .3f));
        Set(Viseme.CH, ("JawOpen", .2f), ("MouthFunnel", .5f), ("MouthPucker", .3f));
        Set(Viseme.SS, ("JawOpen", .1f), ("MouthSmileLeft", .2f), ("MouthSmileRight", .2f), ("MouthStretchLeft", .3f), ("MouthStretchRight", .3f));
        Set(Viseme.NN, ("JawOpen", .1f), ("MouthClose", .3f), ("MouthPressLeft", .2f), ("MouthPressRight", .2f), ("TongueTipUp", .5f));
        Set(Viseme.RR, ("JawOpen", .15f), ("MouthFunnel", .4f), ("MouthPucker", .2f), ("TongueRollUp", .3f));
        Set(Viseme.AA, ("JawOpen", .7f), ("MouthLowerDownLeft", .3f), ("MouthLowerDownRight", .3f), ("MouthUpperUpLeft", .15f), ("MouthUpperUpRight", .15f));
        Set(Viseme.E, ("JawOpen", .35f), ("MouthSmileLeft", .3f), ("MouthSmileRight", .3f), ("MouthStretchLeft", .2f), ("MouthStretchRight", .2f));
        Set(Viseme.IH, ("JawOpen", .2f), ("MouthSmileLeft", .4f), ("MouthSmileRight", .4f), ("MouthStretchLeft", .3f), ("MouthStretchRight", .3f));
        Set(Viseme.OH, ("JawOpen", .5f), ("MouthFunnel", .5f), ("MouthPucker", .2f));
        Set(Viseme.OU, ("JawOpen", .25f), ("MouthFunnel", .6f), ("MouthPucker", .5f));
        return table;
    }

    /// <summary>Blends the table by viseme probabilities into <paramref name="weights"/> (68 values).</summary>
    public static void Blend(ReadOnlySpan<float> probabilities, Span<float> weights)
    {
        weights.Clear();
        for (var v = 0; v < Count; v++)
        {
            var p = probabilities[v];
            if (p < 1e-4f)
            {
                continue;
            }
            var row = Weights[v];
            for (var s = 0; s < row.Length; s++)
            {
                weights[s] += p * row[s];
            }
        }
    }
}

/// <summary>The 68 blend shapes (ARKit 52 + tongue 16) in A2F output order.</summary>
public static class BlendShapes
{
    /// <summary>Names in output order, as the A2F header lists them.</summary>
    public static IReadOnlyList<string> Names => Avatar.A2F.Contracts.A2FApi.BlendShapeNames;

    /// <summary>68.</summary>
    public static int Count => Names.Count;

    private static readonly Dictionary<string, int> s_index = Names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i);

    /// <summary>Index of a blend shape name; throws for unknown names.</summary>
    public static int IndexOf(string name) =>
        s_index.TryGetValue(name, out var i) ? i : throw new ArgumentException($"Unknown blend shape '{name}'.");

    /// <summary>Index of JawOpen.</summary>
    public static readonly int JawOpen = IndexOf("JawOpen");
}
