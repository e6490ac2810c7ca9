namespace Avatar.Tests;

/// <summary>The checkout the tests run from, found by walking up from the test output to Avatar.sln.</summary>
internal static class Repository
{
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
        throw new DirectoryNotFoundException("Avatar.sln not found above " + AppContext.BaseDirectory);
    }
}
