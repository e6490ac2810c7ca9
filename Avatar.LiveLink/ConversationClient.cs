using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Avatar.LiveLink;

/// <summary>
/// A conversation over Chat's WebSocket: lines typed become <c>say</c>, /stop an <c>interrupt</c>, and what the
/// character says plays through the <see cref="ConversationPlayer"/>. End of input leaves once the turns asked for
/// have played.
/// </summary>
public static class ConversationClient
{
    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(LiveLinkOptions options, FacePlayer player, TextReader input, TextWriter output, TextWriter log,
        CancellationToken cancellationToken)
    {
        using var socket = await ConnectAsync(options, cancellationToken);
        var conversation = new ConversationPlayer(player, output, log);
        using var leaving = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var userLeft = false;
        var reading = ReadAsync(socket, conversation, () => userLeft, leaving.Token);
        var typing = TypeAsync(socket, conversation, input, leaving.Token);
        var first = await Task.WhenAny(reading, typing);
        if (first == reading)
        {
            // The server went first: that is an error (ReadAsync throws it), or the end the user asked for.
            await leaving.CancelAsync();
            await reading;
            return;
        }
        await typing;
        // The user left: close as a client should, and let the server answer the close.
        userLeft = true;
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        await reading.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
    }

    private static async Task<ClientWebSocket> ConnectAsync(LiveLinkOptions options, CancellationToken cancellationToken)
    {
        var uri = new UriBuilder(options.Chat) { Path = $"/v1/sessions/{options.Session}/ws" };
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (options.Ticket is not null)
        {
            uri.Query = "ticket=" + Uri.EscapeDataString(options.Ticket);
        }
        else
        {
            socket.Options.SetRequestHeader("X-Api-Key", options.ApiKey);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_connectTimeout);
        try
        {
            await socket.ConnectAsync(uri.Uri, timeout.Token);
            return socket;
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            throw new ToolException(status switch
            {
                HttpStatusCode.Unauthorized => $"Chat refused the {(options.Ticket is null ? "API key" : "ticket")} (401).",
                HttpStatusCode.NotFound => $"Chat knows no session {options.Session} of this user (404).",
                HttpStatusCode.Conflict => $"Session {options.Session} has ended (409).",
                0 when e is OperationCanceledException => $"Chat at {options.Chat} did not answer within {s_connectTimeout.TotalSeconds:0} s.",
                0 => $"Cannot connect to Chat at {options.Chat}: {e.InnerException?.Message ?? e.Message}",
                _ => $"Chat at {options.Chat} refused the conversation ({(int)status} {status}).",
            });
        }
    }

    private static async Task ReadAsync(ClientWebSocket socket, ConversationPlayer conversation, Func<bool> userLeft,
        CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    // The answer to our own close: the user left. Not read from the socket's state, which can still say
                    // CloseReceived here while our close frame's send is completing on the other task.
                    if (userLeft())
                    {
                        return;
                    }
                    throw new ToolException($"Chat closed the conversation ({result.CloseStatus}{(string.IsNullOrEmpty(result.CloseStatusDescription) ? "" : ": " + result.CloseStatusDescription)}).");
                }
                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    using var json = ParseMessage(message.ToArray());
                    message.SetLength(0);
                    conversation.Handle(json.RootElement);
                }
            }
        }
        catch (WebSocketException e)
        {
            throw new ToolException($"The connection to Chat dropped: {e.Message}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static JsonDocument ParseMessage(byte[] message)
    {
        try
        {
            return JsonDocument.Parse(message);
        }
        catch (JsonException e)
        {
            throw new ToolException($"Chat sent something that is not JSON: {e.Message}");
        }
    }

    private static async Task TypeAsync(ClientWebSocket socket, ConversationPlayer conversation, TextReader input, CancellationToken cancellationToken)
    {
        var asked = 0;
        while (await input.ReadLineAsync(cancellationToken) is { } line)
        {
            line = line.Trim();
            switch (line)
            {
                case "":
                    continue;
                case "/quit":
                    return;
                case "/stop" or "/interrupt":
                    conversation.Interrupt();
                    await SendAsync(socket, """{"type":"interrupt"}""", cancellationToken);
                    continue;
                default:
                    // The server stops the turn in progress for a new say; stop it here at once too.
                    conversation.Interrupt();
                    await SendAsync(socket, JsonSerializer.Serialize(new { type = "say", text = line }), cancellationToken);
                    asked++;
                    continue;
            }
        }
        // End of input: let the character finish what it was asked, then leave.
        while (conversation.TurnsEnded < asked)
        {
            await Task.Delay(20, cancellationToken);
        }
        if (conversation.Turn is { } turn)
        {
            await turn.Finished.WaitAsync(cancellationToken);
        }
    }

    private static Task SendAsync(ClientWebSocket socket, string text, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text).AsMemory(), WebSocketMessageType.Text, endOfMessage: true, cancellationToken).AsTask();
}
