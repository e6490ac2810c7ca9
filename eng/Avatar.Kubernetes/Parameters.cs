using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;

namespace Avatar.Kubernetes;

/// <summary>
/// The values of the manifest's <c>parameter.v0</c> resources: <c>Parameters:{name}</c> from configuration, else the
/// value kept by the last publish in <see cref="File"/>, else the parameter's default (a fixed value, or one generated
/// to its <c>generate</c> rules, as Aspirate generates and keeps them).
/// </summary>
internal sealed class Parameters
{
    /// <summary>Where secret and generated values are kept between publishes (git-ignored, as every *.secret.env).</summary>
    public const string File = "parameters.secret.env";

    private readonly Dictionary<string, Resolved> _values = new(StringComparer.Ordinal);

    private Parameters()
    {
    }

    /// <summary>Parameters that have no value: their Secret entries stay empty until the operator sets them.</summary>
    public List<string> Missing { get; } = [];

    /// <summary>What <see cref="File"/> holds after this publish.</summary>
    public List<KeyValuePair<string, string>> Kept { get; } = [];

    public Resolved Value(string name) => _values.TryGetValue(name, out var value) ? value
        : throw new InvalidDataException($"'{name}' is not a parameter of the manifest.");

    public static Parameters Resolve(AspireManifest manifest, IConfiguration configuration, IReadOnlyDictionary<string, string> kept)
    {
        var parameters = new Parameters();
        foreach (var resource in manifest.Resources.Where(r => r.Type == "parameter.v0"))
        {
            var input = resource.Json["inputs"]?["value"] as JsonObject ?? [];
            var secret = (bool?)input["secret"] ?? false;
            var byDefault = input["default"] as JsonObject;
            var generated = false;
            var value = configuration[$"Parameters:{resource.Name}"] ?? kept.GetValueOrDefault(resource.Name) ?? (string?)byDefault?["value"];
            if (value is null && byDefault?["generate"] is JsonObject rules)
            {
                value = Generate(rules);
                generated = true;
            }
            if (value is null)
            {
                parameters.Missing.Add(resource.Name);
                value = "";
            }
            else if (secret || generated || kept.ContainsKey(resource.Name))
            {
                parameters.Kept.Add(new(resource.Name, value));
            }
            parameters._values[resource.Name] = new Resolved(value, secret);
        }
        return parameters;
    }

    /// <summary>A random value to Aspire's <c>generate</c> rules, from the characters Aspire's own generator uses.</summary>
    private static string Generate(JsonObject rules)
    {
        const string Lower = "abcdefghjkmnpqrstuvwxyz";
        const string Upper = "ABCDEFGHJKMNPQRSTUVWXYZ";
        const string Numeric = "0123456789";
        const string Special = "-_.{}~()*+!";
        var sets = new (string Characters, bool Allowed, int Minimum)[]
        {
            (Lower, (bool?)rules["lower"] ?? true, (int?)rules["minLower"] ?? 0),
            (Upper, (bool?)rules["upper"] ?? true, (int?)rules["minUpper"] ?? 0),
            (Numeric, (bool?)rules["numeric"] ?? true, (int?)rules["minNumeric"] ?? 0),
            (Special, (bool?)rules["special"] ?? true, (int?)rules["minSpecial"] ?? 0),
        };
        var length = Math.Max((int?)rules["minLength"] ?? 0, sets.Sum(s => s.Minimum));
        var value = new char[length];
        var next = 0;
        foreach (var (characters, _, minimum) in sets)
        {
            RandomNumberGenerator.GetItems(characters.AsSpan(), value.AsSpan(next, minimum));
            next += minimum;
        }
        var allowed = string.Concat(sets.Where(s => s.Allowed).Select(s => s.Characters));
        if (allowed.Length == 0)
        {
            throw new InvalidDataException("A generated parameter allows no characters.");
        }
        RandomNumberGenerator.GetItems(allowed.AsSpan(), value.AsSpan(next));
        RandomNumberGenerator.Shuffle(value.AsSpan());
        return new string(value);
    }
}
