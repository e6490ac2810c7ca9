using System.Runtime.InteropServices;

namespace Avatar.Hosting.Orchestration;

internal static partial class Native
{
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint SysGetEuid();

    public static bool IsRoot => OperatingSystem.IsLinux() && SysGetEuid() == 0;

    /// <summary>Sends a signal; false when the process is already gone.</summary>
    public static bool Signal(int pid, int signal) => SysKill(pid, signal) == 0;

    public static bool IsAlive(int pid) => SysKill(pid, 0) == 0;
}
