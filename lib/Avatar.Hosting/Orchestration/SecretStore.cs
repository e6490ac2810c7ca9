using System.Text.Json;
using Avatar.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;

namespace Avatar.Hosting.Orchestration;

/// <summary>
/// Resolves parameters: configuration first (<c>Parameters:{name}</c>), then values generated on an earlier run and
/// kept in <c>{state}/secrets.json</c> (mode 600, git-ignored), then a new generated value, saved for next time.
/// </summary>
internal static class SecretStore
{
    public static void Resolve(IEnumerable<ParameterResource> parameters, IConfiguration configuration, string stateDirectory)
    {
        var path = Path.Combine(stateDirectory, "secrets.json");
        var saved = File.Exists(path)
            ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path)) ?? []
            : [];
        var changed = false;
        foreach (var parameter in parameters.Where(p => !p.IsResolved))
        {
            if (configuration[$"Parameters:{parameter.Name}"] is { Length: > 0 } configured)
            {
                parameter.Resolve(configured);
            }
            else if (saved.TryGetValue(parameter.Name, out var kept))
            {
                parameter.Resolve(kept);
            }
            else if (parameter.Generate is { } generate)
            {
                parameter.Resolve(saved[parameter.Name] = generate());
                changed = true;
            }
            else
            {
                throw new InvalidOperationException(
                    $"Parameter '{parameter.Name}' has no value: set it in configuration as Parameters:{parameter.Name} (environment variable Parameters__{parameter.Name}).");
            }
        }
        if (changed)
        {
            Directory.CreateDirectory(stateDirectory);
            File.WriteAllText(path, JsonSerializer.Serialize(saved));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
