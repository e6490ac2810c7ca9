using System.Diagnostics;

namespace Avatar.LiveLink;

/// <summary>
/// Plays raw PCM on the default audio device through the first of paplay (PulseAudio, PipeWire), aplay (ALSA) or SoX's
/// play found on the PATH: .NET has no audio output of its own, and these read a stream from stdin. None on the PATH
/// (Windows; macOS without SoX), or a player that cannot open a device: the face goes on without sound.
/// </summary>
public sealed class Speaker : IDisposable
{
    private static readonly (string Command, Func<int, string[]> Arguments)[] s_players =
    [
        ("paplay", rate => ["--raw", "--format=s16le", $"--rate={rate}", "--channels=1"]),
        ("aplay", rate => ["-q", "-t", "raw", "-f", "S16_LE", "-r", $"{rate}", "-c", "1"]),
        ("play", rate => ["-q", "-t", "raw", "-r", $"{rate}", "-e", "signed", "-b", "16", "-c", "1", "-"]),
    ];

    private readonly string _command;
    private readonly Func<int, string[]> _arguments;
    private readonly TextWriter _log;
    private Process? _process;
    private int _rate;
    private bool _failed;

    private Speaker(string command, Func<int, string[]> arguments, TextWriter log)
    {
        _command = command;
        _arguments = arguments;
        _log = log;
    }

    public string Command => _command;

    /// <summary>The first player on the PATH, or null.</summary>
    public static Speaker? Find(TextWriter log)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var (command, arguments) in s_players)
        {
            if (path.Any(dir => File.Exists(Path.Combine(dir, command))))
            {
                return new Speaker(command, arguments, log);
            }
        }
        return null;
    }

    /// <summary>Plays <paramref name="pcm"/> after what was written before; the player starts with the first audio of a turn.</summary>
    public void Write(ReadOnlySpan<byte> pcm, int rate)
    {
        if (_failed || pcm.IsEmpty)
        {
            return;
        }
        try
        {
            if (_process is null || rate != _rate)
            {
                Finish();
                _rate = rate;
                var info = new ProcessStartInfo(_command) { RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var argument in _arguments(rate))
                {
                    info.ArgumentList.Add(argument);
                }
                _process = Process.Start(info)!;
            }
            if (_process.HasExited)
            {
                throw new IOException($"it exited with code {_process.ExitCode}");
            }
            _process.StandardInput.BaseStream.Write(pcm);
            _process.StandardInput.BaseStream.Flush();
        }
        catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            _failed = true;
            var said = _process is { HasExited: true } ? _process.StandardError.ReadToEnd().Trim() : "";
            _log.WriteLine($"{_command} cannot play the audio ({e.Message}{(said.Length > 0 ? ": " + said : "")}); the face goes on without sound. --wav keeps the audio in a file.");
            Stop();
        }
    }

    /// <summary>Silence at once: the player is stopped with what it still holds (an interrupt).</summary>
    public void Stop()
    {
        try
        {
            _process?.Kill();
        }
        catch (InvalidOperationException)
        {
            // It had already exited.
        }
        _process?.Dispose();
        _process = null;
    }

    /// <summary>Lets the player play what it holds, then end (the end of a turn).</summary>
    public void Finish()
    {
        if (_process is null)
        {
            return;
        }
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
        }
        _process.Dispose();
        _process = null;
    }

    public void Dispose() => Finish();
}
