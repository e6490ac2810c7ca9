using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Avatar.Chat.Llm;
using Avatar.Chat.LipSync;
using Avatar.Chat.Speech;
using Grpc.Core;

namespace Avatar.Chat.Conversations;

/// <summary>
/// One turn, streamed: the model's tokens become sentences, each sentence is spoken as soon as it is complete, and its
/// audio goes to the A2F controller for the face. Cancelling the turn (interrupt, a new say) stops all three.
/// </summary>
internal sealed partial class TurnRunner(ConversationStore store, ILlmClient llm, ITtsClient tts, LipSyncClient lipSync,
    Microsoft.Extensions.Options.IOptions<ChatOptions> options, ILogger<TurnRunner> logger)
{
    internal static readonly ActivitySource Source = new("Avatar.Chat");
    private const int FramesPerMessage = 15;

    public async Task RunAsync(ChatConnection client, ChatSession session, string text, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("chat.turn");
        activity?.SetTag("session.id", session.Id);
        var turnId = Guid.CreateVersion7();
        var answer = new StringBuilder();
        var interrupted = false;
        // The turn's own token: a failure in one stage stops the others without touching the connection.
        using var turn = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sentences = Channel.CreateBounded<string>(16);
        var speaking = Task.CompletedTask;
        var completed = false;
        try
        {
            // Never dropped, like turn.end: a client always sees both ends of a turn.
            await client.SendAsync(ChatProtocol.TurnStart(turnId), CancellationToken.None);
            await store.AddMessageAsync(session.Id, "user", text, turn.Token);
            var request = await BuildRequestAsync(session, text, turn.Token);
            speaking = SpeakOrStopTurnAsync(client, session, turnId, sentences.Reader, turn);
            var splitter = new SentenceSplitter();
            await foreach (var delta in llm.StreamAsync(request, turn.Token))
            {
                answer.Append(delta);
                await client.SendAsync(ChatProtocol.TextDelta(turnId, delta), turn.Token);
                foreach (var sentence in splitter.Push(delta))
                {
                    await sentences.Writer.WriteAsync(sentence, turn.Token);
                }
            }
            if (splitter.Flush() is { } rest)
            {
                await sentences.Writer.WriteAsync(rest, turn.Token);
            }
            sentences.Writer.Complete();
            await speaking;
            completed = true;
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted: whatever a stage threw while stopping is the interrupt's doing.
            interrupted = true;
        }
        catch (OperationCanceledException) when (speaking.IsFaulted && speaking.Exception?.InnerException is { } failure)
        {
            // The voice failed and stopped the turn.
            await ReportAsync(client, session, failure);
        }
        catch (Exception e) when (e is LlmException or TtsException or global::Npgsql.NpgsqlException or TimeoutException)
        {
            await ReportAsync(client, session, e);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The turn boundary: whatever went wrong ends this turn, never the conversation or the process.
            LogTurnFailed(logger, session.Id, e.GetType().Name, e.Message);
            await TrySendAsync(client, ChatProtocol.Error("internal_error", "The turn failed; the conversation goes on."));
        }
        finally
        {
            sentences.Writer.TryComplete();
            if (!completed)
            {
                // Stops the voice and the face, and drops their frames still queued for the socket.
                await turn.CancelAsync();
            }
            await ObserveAsync(speaking);
            await FinishAsync(client, session, turnId, answer.ToString().Trim(), interrupted || cancellationToken.IsCancellationRequested);
        }
    }

    private async Task ReportAsync(ChatConnection client, ChatSession session, Exception e)
    {
        LogTurnFailed(logger, session.Id, e.GetType().Name, e.Message);
        var code = e switch
        {
            LlmException => "llm_failed",
            TtsException => "tts_failed",
            _ => "storage_failed",
        };
        if (code == "storage_failed")
        {
            store.DropPooledConnections();
        }
        await TrySendAsync(client, ChatProtocol.Error(code, e.Message));
    }

    private async Task SpeakOrStopTurnAsync(ChatConnection client, ChatSession session, Guid turnId, ChannelReader<string> sentences,
        CancellationTokenSource turn)
    {
        try
        {
            await SpeakAsync(client, session, turnId, sentences, turn.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Nobody would read the model's next sentences: stop it too.
            await turn.CancelAsync();
            throw;
        }
    }

    private async Task<LlmRequest> BuildRequestAsync(ChatSession session, string text, CancellationToken cancellationToken)
    {
        var history = await store.HistoryAsync(session.Id, options.Value.HistoryMessages, cancellationToken);
        var facts = await store.FactsAsync(session.UserId, text, options.Value.Facts, cancellationToken);
        return Prompts.Build(session, history, facts);
    }

    /// <summary>
    /// Speaks each sentence as it arrives and animates it; audio and frames share the turn's clock. Sentences go one at a
    /// time: overlapping one sentence's face with the next one's voice was measured (make bench BENCH=chat) to delay
    /// other conversations' first audio more than it saved.
    /// </summary>
    private async Task SpeakAsync(ChatConnection client, ChatSession session, Guid turnId, ChannelReader<string> sentences,
        CancellationToken cancellationToken)
    {
        var clock = 0.0;
        var formatSent = false;
        var lipSyncFailed = false;
        var pcm = new ArrayBufferWriter<byte>();
        await foreach (var sentence in sentences.ReadAllAsync(cancellationToken))
        {
            pcm.ResetWrittenCount();
            await foreach (var chunk in tts.SynthesizeAsync(sentence, session.Voice, cancellationToken))
            {
                if (!formatSent)
                {
                    await client.SendAsync(ChatProtocol.AudioFormat(turnId, tts.SampleRate), cancellationToken);
                    formatSent = true;
                }
                await client.SendAsync(ChatProtocol.Audio(turnId, clock + pcm.WrittenCount / 2.0 / tts.SampleRate, chunk), cancellationToken);
                pcm.Write(chunk.Span);
            }
            if (!lipSyncFailed && pcm.WrittenCount > 0)
            {
                // After a failure the voice goes on alone.
                lipSyncFailed = !await AnimateAsync(client, turnId, pcm.WrittenMemory, clock, cancellationToken);
            }
            clock += pcm.WrittenCount / 2.0 / tts.SampleRate;
        }
    }

    /// <summary>Sends the sentence's frames; false (after telling the client once) when the A2F controller failed.</summary>
    private async Task<bool> AnimateAsync(ChatConnection client, Guid turnId, ReadOnlyMemory<byte> pcm, double offset, CancellationToken cancellationToken)
    {
        var batch = new List<FaceFrame>(FramesPerMessage);
        try
        {
            await foreach (var frame in lipSync.AnimateAsync(pcm, tts.SampleRate, cancellationToken))
            {
                batch.Add(frame with { Time = offset + frame.Time });
                if (batch.Count == FramesPerMessage)
                {
                    await client.SendAsync(ChatProtocol.Frames(turnId, batch), cancellationToken);
                    batch.Clear();
                }
            }
            if (batch.Count > 0)
            {
                await client.SendAsync(ChatProtocol.Frames(turnId, batch), cancellationToken);
            }
            return true;
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            // The voice goes on without the face: better than silence while A2F is down.
            LogLipSyncFailed(logger, e.StatusCode, e.Status.Detail);
            await client.SendAsync(ChatProtocol.Error("lipsync_unavailable", $"The face cannot move for this turn: {e.Status.Detail}"), cancellationToken);
            return false;
        }
    }

    private async Task FinishAsync(ChatConnection client, ChatSession session, Guid turnId, string answer, bool interrupted)
    {
        try
        {
            if (answer.Length > 0)
            {
                // What the character said so far is part of the conversation, even when it was cut off.
                await store.AddMessageAsync(session.Id, "character", answer, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is global::Npgsql.NpgsqlException or TimeoutException)
        {
            LogTurnFailed(logger, session.Id, e.GetType().Name, e.Message);
            store.DropPooledConnections();
            await TrySendAsync(client, ChatProtocol.Error("storage_failed", "The answer could not be stored."));
        }
        await TrySendAsync(client, ChatProtocol.TurnEnd(turnId, interrupted, answer));
    }

    private static async Task TrySendAsync(ChatConnection client, byte[] frame)
    {
        try
        {
            await client.SendAsync(frame, CancellationToken.None);
        }
        catch (ChannelClosedException)
        {
            // The socket is gone; nobody is listening.
        }
    }

    /// <summary>
    /// Waits for the voice and face stage to stop. Its failure was reported where it happened, or is moot: the turn has
    /// ended (a cancelled gRPC or HTTP stream may surface as any of several exception types).
    /// </summary>
    private static async Task ObserveAsync(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A turn of session {SessionId} failed: {ErrorType}: {Error}")]
    private static partial void LogTurnFailed(ILogger logger, Guid sessionId, string errorType, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lip-sync failed ({Status}): {Detail}")]
    private static partial void LogLipSyncFailed(ILogger logger, StatusCode status, string detail);
}
