using System.Globalization;

namespace Avatar.LiveLink;

/// <summary>The command line: a mode (a chat session, or a WAV file) and where the packets go.</summary>
public sealed record LiveLinkOptions
{
    public const string Usage = """
        Usage:
          avatar-livelink --session <id> (--api-key <key> | --ticket <ticket>) [options]   talk with a character
          avatar-livelink --file <speech.wav> [options]                                 animate a WAV file through A2F

        Options:
          --host <address>      where Unreal listens for Live Link Face (default 127.0.0.1; unicast only)
          --port <port>         its port (default 11111)
          --subject <name>      the Live Link subject name (default Avatar)
          --device-id <id>      the device id in each packet (default avatar-livelink)
          --chat <url>          Avatar.Chat (default ws://localhost:4009); the key may also come from AVATAR_API_KEY
          --a2f <url>           the A2F controller (default http://localhost:52000)
          --wav <path>          write the voice to a WAV file instead of playing it
          --seed <n>            the idle motion's seed (default: random)
        In a conversation, a line is said; /stop (or /interrupt) stops the character; /quit or end of input leaves.
        """;

    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 11111;
    public string Subject { get; init; } = "Avatar";
    public string DeviceId { get; init; } = "avatar-livelink";
    public Uri Chat { get; init; } = new("ws://localhost:4009");
    public Uri A2F { get; init; } = new("http://localhost:52000");
    public Guid? Session { get; init; }
    public string? ApiKey { get; init; }
    public string? Ticket { get; init; }
    public string? File { get; init; }
    public string? Wav { get; init; }
    public int Seed { get; init; } = Environment.TickCount;

    /// <exception cref="ToolException">An unknown option, a missing or bad value, or no mode (exit code 2).</exception>
    public static LiveLinkOptions Parse(IReadOnlyList<string> args, string? apiKeyFromEnvironment = null)
    {
        var options = new LiveLinkOptions { ApiKey = apiKeyFromEnvironment };
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw Bad($"{name} needs a value.");
            options = name switch
            {
                "--host" => options with { Host = Value() },
                "--port" => options with { Port = int.TryParse(Value(), CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536 ? port : throw Bad("--port must be 1 to 65535.") },
                "--subject" => options with { Subject = Value() },
                "--device-id" => options with { DeviceId = Value() },
                "--chat" => options with { Chat = Url(name, Value(), "ws", "wss") },
                "--a2f" => options with { A2F = Url(name, Value(), "http", "https") },
                "--session" => options with { Session = Guid.TryParse(Value(), out var session) ? session : throw Bad("--session must be a session id (a GUID).") },
                "--api-key" => options with { ApiKey = Value() },
                "--ticket" => options with { Ticket = Value() },
                "--file" => options with { File = Value() },
                "--wav" => options with { Wav = Value() },
                "--seed" => options with { Seed = int.TryParse(Value(), CultureInfo.InvariantCulture, out var seed) ? seed : throw Bad("--seed must be an integer.") },
                _ => throw Bad($"Unknown option {name}."),
            };
        }
        return (options.File, options.Session) switch
        {
            (null, null) => throw Bad("Name a mode: --session <id> for a conversation, or --file <speech.wav>."),
            (not null, not null) => throw Bad("--file and --session are two modes: name one."),
            (null, _) when options.ApiKey is null && options.Ticket is null => throw Bad("A conversation needs --api-key (or AVATAR_API_KEY) or --ticket."),
            _ => options,
        };
    }

    private static Uri Url(string name, string value, params string[] schemes) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && schemes.Contains(uri.Scheme)
            ? uri
            : throw Bad($"{name} must be a {string.Join(" or ", schemes)} URL, not '{value}'.");

    private static ToolException Bad(string message) => new(message, ToolException.Usage);
}
