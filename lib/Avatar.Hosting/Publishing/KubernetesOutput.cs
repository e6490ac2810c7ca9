using YamlDotNet.Serialization;

namespace Avatar.Hosting.Publishing;

/// <summary>The output folder: YAML documents and the git-ignored env files that hold secrets.</summary>
internal sealed class KubernetesOutput(string root)
{
    private static readonly ISerializer s_yaml = new SerializerBuilder()
        .WithQuotingNecessaryStrings()
        .DisableAliases()
        .Build();

    public string Root { get; } = root;

    /// <summary>Parameters that had no value: their Secret entries are empty until the operator fills them in.</summary>
    public List<string> Missing { get; } = [];

    public void Yaml(string relativePath, object document) => WriteText(relativePath, s_yaml.Serialize(document));

    /// <summary>Writes KEY=value lines; only ever to a *.secret.env file, which .gitignore keeps out of the repository.</summary>
    public void Env(string relativePath, IEnumerable<KeyValuePair<string, string>> values)
    {
        if (!relativePath.EndsWith(".secret.env", StringComparison.Ordinal))
        {
            throw new ArgumentException("Secret values go to *.secret.env files only.", nameof(relativePath));
        }
        WriteText(relativePath, string.Concat(values.Select(v => $"{v.Key}={v.Value}\n")));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(Root, relativePath), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    public Dictionary<string, string> ReadEnv(string relativePath)
    {
        var path = Path.Combine(Root, relativePath);
        return !File.Exists(path) ? [] : File.ReadLines(path)
            .Select(line => line.Split('=', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.Ordinal);
    }

    private void WriteText(string relativePath, string text)
    {
        var path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
