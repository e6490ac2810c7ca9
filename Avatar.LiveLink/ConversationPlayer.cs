using System.Text.Json;

namespace Avatar.LiveLink;

/// <summary>
/// Chat's server messages (README, "Conversations: Avatar.Chat") turned into turns of the <see cref="FacePlayer"/>: the
/// character's text goes to the console, its audio and frames to the player.
/// </summary>
public sealed class ConversationPlayer(FacePlayer player, TextWriter output, TextWriter log)
{
    // Chat sends a sentence's frames after its voice: the voice waits this long for a late face, then goes on alone.
    private static readonly TimeSpan s_maxFaceWait = TimeSpan.FromSeconds(1);

    // Handle runs on the socket's reader, Interrupt on the console's: one lock keeps the turn's state whole.
    private readonly Lock _sync = new();
    private readonly HashSet<string> _stopped = [];
    private ArkitMapping? _mapping;
    private SpokenTurn? _turn;
    private string? _turnId;
    private int _sampleRate;
    private int _turnsEnded;

    /// <summary>The turn playing or last played.</summary>
    public SpokenTurn? Turn
    {
        get
        {
            lock (_sync)
            {
                return _turn;
            }
        }
    }

    /// <summary>turn.end messages received.</summary>
    public int TurnsEnded
    {
        get
        {
            lock (_sync)
            {
                return _turnsEnded;
            }
        }
    }

    /// <summary>Stops the turn in progress here (its audio, its face); what the server still sends of it is dropped.</summary>
    public void Interrupt()
    {
        lock (_sync)
        {
            if (_turnId is not null)
            {
                _stopped.Add(_turnId);
            }
            player.Interrupt();
        }
    }

    /// <exception cref="ToolException">The server sent something this tool cannot use.</exception>
    public void Handle(JsonElement message)
    {
        lock (_sync)
        {
            HandleLocked(message);
        }
    }

    private void HandleLocked(JsonElement message)
    {
        var type = message.GetProperty("type").GetString();
        var turnId = message.TryGetProperty("turnId", out var id) ? id.GetString() : null;
        if (type == "turn.end")
        {
            _turnsEnded++;
            output.WriteLine();
        }
        if (turnId is not null && _stopped.Contains(turnId))
        {
            return;
        }
        switch (type)
        {
            case "ready":
                var character = message.GetProperty("character");
                output.WriteLine($"Talking with {character.GetProperty("name").GetString()} ({character.GetProperty("kind").GetString()}). Type a line to say it; /stop interrupts; /quit leaves.");
                break;
            case "blendshapes.header":
                var names = message.GetProperty("names").EnumerateArray().Select(n => n.GetString() ?? "").ToList();
                _mapping = ArkitMapping.FromNames(names);
                if (_mapping.Dropped.Count > 0)
                {
                    log.WriteLine($"Live Link Face carries ARKit's 52 blend shapes: {_mapping.Dropped.Count} of Avatar's {names.Count} are dropped ({string.Join(", ", _mapping.Dropped.Take(3))}...).");
                }
                break;
            case "turn.start":
                _turnId = turnId;
                _turn = player.BeginTurn(s_maxFaceWait);
                if (_mapping is not null)
                {
                    _turn.SetNames(_mapping);
                }
                break;
            case "text.delta":
                output.Write(message.GetProperty("text").GetString());
                break;
            case "audio.format":
                _sampleRate = message.GetProperty("sampleRate").GetInt32();
                break;
            case "audio" when _turn is not null && _sampleRate > 0:
                _turn.AddAudio(message.GetProperty("t").GetDouble(), message.GetProperty("data").GetBytesFromBase64(), _sampleRate);
                break;
            case "frames" when _turn is not null:
                foreach (var frame in message.GetProperty("frames").EnumerateArray())
                {
                    var weights = frame.GetProperty("w").EnumerateArray().Select(w => w.GetSingle()).ToArray();
                    _turn.AddFrame(frame.GetProperty("t").GetDouble(), weights);
                }
                break;
            case "turn.end":
                _turn?.End();
                break;
            case "error":
                // lipsync_unavailable among them: the voice then starts without the face (s_maxFaceWait).
                log.WriteLine($"Chat: {message.GetProperty("code").GetString()}: {message.GetProperty("message").GetString()}");
                break;
        }
    }
}
