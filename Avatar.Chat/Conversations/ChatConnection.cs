using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;

namespace Avatar.Chat.Conversations;

/// <summary>
/// One WebSocket conversation: reads the client's frames, runs one turn at a time, and sends every server frame through
/// one writer. Bad frames get an error frame; the socket and the session stay usable.
/// </summary>
internal sealed partial class ChatConnection(WebSocket socket, ChatSession session, TurnRunner turns, ChatOptions options,
    ChatLimits limits, ILogger<ChatConnection> logger)
{
    // Bounded, so a client that reads slowly slows its own turn down, never the server's memory. Each frame carries the
    // token of what sent it: the frames of an interrupted turn still queued are dropped, not sent after its end.
    private readonly Channel<(byte[] Frame, CancellationToken Sender)> _outgoing =
        Channel.CreateBounded<(byte[], CancellationToken)>(new BoundedChannelOptions(256) { SingleReader = true });
    private CancellationTokenSource? _turnCancellation;
    private Task _turn = Task.CompletedTask;

    public async Task RunAsync(CancellationToken aborted)
    {
        var writing = WriteLoopAsync(aborted);
        await SendAsync(ChatProtocol.Ready(session), aborted);
        await SendAsync(ChatProtocol.BlendShapesHeader(), aborted);
        try
        {
            await ReadLoopAsync(aborted);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            LogClosed(logger, session.Id, e.Message);
        }
        finally
        {
            await CancelTurnAsync();
            _outgoing.Writer.TryComplete();
            await writing;
        }
    }

    /// <summary>Queues a frame; it is dropped unsent if <paramref name="cancellationToken"/> is cancelled before its turn to go.</summary>
    public ValueTask SendAsync(byte[] frame, CancellationToken cancellationToken) => _outgoing.Writer.WriteAsync((frame, cancellationToken), cancellationToken);

    private async Task ReadLoopAsync(CancellationToken aborted)
    {
        var buffer = new byte[options.MaxMessageBytes];
        while (socket.State == WebSocketState.Open)
        {
            var (length, type, tooLarge) = await ReceiveMessageAsync(buffer, aborted);
            if (type == WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", aborted);
                return;
            }
            if (tooLarge)
            {
                await SendAsync(ChatProtocol.Error("message_too_large", $"Frames are limited to {options.MaxMessageBytes} bytes."), aborted);
            }
            else if (type == WebSocketMessageType.Binary)
            {
                await SendAsync(ChatProtocol.Error("unsupported_frame", "Send JSON text frames: {\"type\":\"say\",\"text\":...} or {\"type\":\"interrupt\"}."), aborted);
            }
            else
            {
                await HandleAsync(buffer.AsMemory(0, length), aborted);
            }
        }
    }

    /// <summary>Reads one whole message; one larger than the buffer is read to its end and reported, not kept.</summary>
    private async Task<(int Length, WebSocketMessageType Type, bool TooLarge)> ReceiveMessageAsync(byte[] buffer, CancellationToken aborted)
    {
        var length = 0;
        var tooLarge = false;
        byte[]? discard = null;
        while (true)
        {
            var target = tooLarge ? (discard ??= new byte[4096]) : buffer.AsMemory(length);
            var result = await socket.ReceiveAsync(target, aborted);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (0, WebSocketMessageType.Close, false);
            }
            if (!tooLarge)
            {
                length += result.Count;
            }
            if (result.EndOfMessage)
            {
                return (length, result.MessageType, tooLarge);
            }
            tooLarge |= length == buffer.Length;
        }
    }

    private async Task HandleAsync(ReadOnlyMemory<byte> message, CancellationToken aborted)
    {
        ClientMessage? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(message.Span, ChatJsonContext.Default.ClientMessage);
        }
        catch (JsonException e)
        {
            await SendAsync(ChatProtocol.Error("malformed_json", $"The frame is not valid JSON: {e.Message}"), aborted);
            return;
        }
        switch (parsed?.Type)
        {
            case "say" when string.IsNullOrWhiteSpace(parsed.Text):
                await SendAsync(ChatProtocol.Error("invalid_message", "\"say\" needs a non-empty \"text\"."), aborted);
                break;
            case "say" when parsed.Text!.Length > options.MaxSayLength:
                await SendAsync(ChatProtocol.Error("invalid_message", $"\"text\" is limited to {options.MaxSayLength} characters."), aborted);
                break;
            case "say" when parsed.Text.Contains('\0', StringComparison.Ordinal):
                // PostgreSQL's text cannot hold NUL: the turn would end in storage_failed, which blames the database.
                await SendAsync(ChatProtocol.Error("invalid_message", "\"text\" must not contain NUL characters."), aborted);
                break;
            case "say" when limits.TrySay(session.UserId) is { } wait:
                var seconds = RateLimitMetrics.RetryAfterSeconds(wait);
                await SendAsync(ChatProtocol.RateLimited(seconds, $"At most {limits.Settings.Says.Permits} says per {limits.Settings.Says.Period}; try again in {seconds} s."), aborted);
                break;
            case "say":
                // A new say interrupts the turn in progress, as a person talking over the character would.
                await CancelTurnAsync();
                _turnCancellation = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                _turn = turns.RunAsync(this, session, parsed.Text!.Trim(), _turnCancellation.Token);
                break;
            case "interrupt":
                await CancelTurnAsync();
                break;
            case null:
                await SendAsync(ChatProtocol.Error("invalid_message", "A frame needs a \"type\"."), aborted);
                break;
            default:
                await SendAsync(ChatProtocol.Error("unknown_type", $"Unknown type \"{parsed.Type}\": use \"say\" or \"interrupt\"."), aborted);
                break;
        }
    }

    private async Task CancelTurnAsync()
    {
        if (_turnCancellation is { } cancellation)
        {
            _turnCancellation = null;
            try
            {
                await cancellation.CancelAsync();
                await _turn;
            }
            catch (Exception e)
            {
                // A turn reports its own errors; one that escapes still must not end the conversation.
                LogTurnEscaped(logger, session.Id, e);
            }
            cancellation.Dispose();
        }
    }

    private async Task WriteLoopAsync(CancellationToken aborted)
    {
        try
        {
            await foreach (var (frame, sender) in _outgoing.Reader.ReadAllAsync(aborted))
            {
                if (!sender.IsCancellationRequested)
                {
                    await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, aborted);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The reader sees the same broken socket and ends the conversation.
            _outgoing.Writer.TryComplete();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A turn of session {SessionId} ended with an unexpected error")]
    private static partial void LogTurnEscaped(ILogger logger, Guid sessionId, Exception error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Conversation on session {SessionId} closed: {Reason}")]
    private static partial void LogClosed(ILogger logger, Guid sessionId, string reason);
}

/// <summary>A client frame: <c>{"type":"say","text":"..."}</c> or <c>{"type":"interrupt"}</c>.</summary>
internal sealed record ClientMessage(string? Type, string? Text);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ClientMessage))]
internal sealed partial class ChatJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
