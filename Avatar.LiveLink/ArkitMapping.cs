namespace Avatar.LiveLink;

/// <summary>
/// Where each of ARKit's 52 curves comes from in a frame of weights, found by name in the names the A2F animation header
/// (or Chat's blendshapes.header) lists: the order is the sender's to choose. Names that are not ARKit's (the 16 tongue
/// shapes beyond TongueOut) have no Live Link Face curve and are dropped.
/// </summary>
public sealed class ArkitMapping
{
    private readonly int[] _source = new int[LiveLinkFacePacket.ArkitCount];

    private ArkitMapping(IReadOnlyList<string> names)
    {
        var index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < names.Count; i++)
        {
            index.TryAdd(names[i], i);
        }
        for (var curve = 0; curve < _source.Length; curve++)
        {
            _source[curve] = index.GetValueOrDefault(LiveLinkFacePacket.CurveNames[curve], -1);
        }
        var arkit = new HashSet<string>(LiveLinkFacePacket.CurveNames.Take(LiveLinkFacePacket.ArkitCount), StringComparer.OrdinalIgnoreCase);
        Dropped = [.. names.Where(n => !arkit.Contains(n))];
    }

    /// <summary>The sender's names that no Live Link Face curve carries.</summary>
    public IReadOnlyList<string> Dropped { get; }

    /// <exception cref="InvalidDataException">Not one of the names is an ARKit blend shape.</exception>
    public static ArkitMapping FromNames(IReadOnlyList<string> names)
    {
        var mapping = new ArkitMapping(names);
        return mapping._source.All(s => s < 0)
            ? throw new InvalidDataException($"None of the {names.Count} blend shape names is an ARKit name, so the face cannot move.")
            : mapping;
    }

    /// <summary>Writes the 52 ARKit curves of <paramref name="weights"/>, clamped to [0, 1], into <paramref name="curves"/>.</summary>
    public void Map(ReadOnlySpan<float> weights, Span<float> curves)
    {
        for (var curve = 0; curve < _source.Length; curve++)
        {
            var source = _source[curve];
            curves[curve] = source >= 0 && source < weights.Length ? Math.Clamp(weights[source], 0f, 1f) : 0f;
        }
    }
}
