using YamlDotNet.Serialization;

namespace Avatar.Kubernetes;

/// <summary>The output folder: YAML documents, and the git-ignored env files that hold secrets.</summary>
internal sealed class KustomizeOutput
{
    private const string SecretSuffix = ".secret.env";

    private static readonly ISerializer s_yaml = new SerializerBuilder()
        .WithQuotingNecessaryStrings()
        .DisableAliases()
        .Build();

    private KustomizeOutput(string root) => Root = root;

    public string Root { get; }

    /// <summary>
    /// Opens <paramref name="path"/> for a new publish: every file written by the last one goes, so that nothing stale
    /// stays, except the <c>*.secret.env</c> files, which keep the secrets. A folder that holds anything else (no
    /// top-level kustomization.yaml) is refused rather than emptied.
    /// </summary>
    public static KustomizeOutput Open(string path)
    {
        var root = Path.GetFullPath(path);
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
        {
            if (!File.Exists(Path.Combine(root, "kustomization.yaml")))
            {
                throw new IOException($"{root} is not empty and holds no kustomization.yaml: choose an empty folder or an earlier output.");
            }
            foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(SecretSuffix, StringComparison.Ordinal)))
            {
                File.Delete(file);
            }
        }
        Directory.CreateDirectory(root);
        return new KustomizeOutput(root);
    }

    public void Yaml(string relativePath, object document) => WriteText(relativePath, s_yaml.Serialize(document));

    /// <summary>Writes KEY=value lines; only ever to a *.secret.env file, which .gitignore keeps out of the repository.</summary>
    public void SecretEnv(string relativePath, IEnumerable<KeyValuePair<string, string>> values)
    {
        if (!relativePath.EndsWith(SecretSuffix, StringComparison.Ordinal))
        {
            throw new ArgumentException("Secret values go to *.secret.env files only.", nameof(relativePath));
        }
        var path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Made private before anything is written to it.
        using (File.Create(path))
        {
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.WriteAllText(path, string.Concat(values.Select(v => $"{v.Key}={v.Value}\n")));
    }

    public Dictionary<string, string> ReadSecretEnv(string relativePath)
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
