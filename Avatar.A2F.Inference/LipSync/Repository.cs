namespace Avatar.A2F.Inference.LipSync;

/// <summary>The checkout the tools run in: where the model is written and speech is cached.</summary>
internal static class Repository
{
    /// <summary>The nearest folder above the assembly holding Avatar.sln, else the current directory.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Avatar.sln")))
            {
                return dir.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }
}
