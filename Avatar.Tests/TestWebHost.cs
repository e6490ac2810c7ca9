using Microsoft.AspNetCore.Builder;

namespace Avatar.Tests;

/// <summary>
/// Web servers started inside a test. Their content root is an empty folder: the test output also holds the services'
/// appsettings.json (with their fixed ports), which must not configure these servers.
/// </summary>
internal static class TestWebHost
{
    private static readonly string s_emptyRoot = Directory.CreateTempSubdirectory("avatar-test-host-").FullName;

    public static WebApplicationBuilder CreateBuilder() =>
        WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = s_emptyRoot });
}
