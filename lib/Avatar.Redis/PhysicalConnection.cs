using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Avatar.Redis;

/// <summary>A command waiting to be written or answered.</summary>
internal sealed class PendingCommand(RedisValue[] args, CancellationToken cancellationToken)
    : TaskCompletionSource<RedisResult>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public RedisValue[] Args { get; } = args;
    public CancellationToken CancellationToken { get; } = cancellationToken;
}

/// <summary>
/// One socket to Redis. Callers queue commands; one writer loop drains everything queued into a single write (pipelining
/// without the callers having to batch), and one reader loop parses replies from a pipe and completes the commands in
/// order (RESP answers in order). On any failure every queued and unanswered command fails with
/// <see cref="RedisConnectionException"/> and the owner is told, so it can reconnect.
/// </summary>
internal sealed class PhysicalConnection : IAsyncDisposable
{
    private const int MaxWriteBatch = 64 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _reader;
    private readonly Channel<PendingCommand> _outgoing = Channel.CreateUnbounded<PendingCommand>(new() { SingleReader = true });
    private readonly ConcurrentQueue<PendingCommand> _inflight = new();
    private readonly Action<RedisResult>? _onPush;
    private readonly CancellationTokenSource _closing = new();
    private int _failed;
    private Task _loops = Task.CompletedTask;

    private PhysicalConnection(Socket socket, Action<RedisResult>? onPush)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024));
        _onPush = onPush;
    }

    /// <summary>False once the connection failed or was closed.</summary>
    public bool IsAlive => Volatile.Read(ref _failed) == 0;

    /// <summary>Connects, authenticates and selects the database.</summary>
    public static async Task<PhysicalConnection> ConnectAsync(ConfigurationOptions options, Action<RedisResult>? onPush,
        Action<PhysicalConnection, Exception>? onFailure, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        try
        {
            await socket.ConnectAsync(options.Host, options.Port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
            throw new RedisConnectionException($"Could not connect to Redis at {options}: {ex.Message}", ex);
        }
        var connection = new PhysicalConnection(socket, onPush);
        connection._loops = Task.WhenAll(connection.WriteLoopAsync(), connection.ReadLoopAsync());
        try
        {
            if (options.Password is not null)
            {
                RedisValue[] auth = options.User is null ? ["AUTH", options.Password] : ["AUTH", options.User, options.Password];
                await connection.SendAsync(auth, timeout.Token).ConfigureAwait(false);
            }
            if (options.DefaultDatabase != 0)
            {
                await connection.SendAsync(["SELECT", options.DefaultDatabase], timeout.Token).ConfigureAwait(false);
            }
            if (options.ClientName is not null)
            {
                await connection.SendAsync(["CLIENT", "SETNAME", options.ClientName], timeout.Token).ConfigureAwait(false);
            }
        }
        catch (RedisServerException ex)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new RedisConnectionException($"Redis at {options} refused the connection: {ex.Message}", ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new RedisConnectionException($"Redis at {options} did not answer the handshake within {options.ConnectTimeout} ms.");
        }
        // Only now does a failure matter to the owner: a handshake failure is reported by the exception above.
        connection._failureHandler = onFailure;
        return connection;
    }

    private Action<PhysicalConnection, Exception>? _failureHandler;

    /// <summary>Queues a command; the task completes with its reply.</summary>
    public Task<RedisResult> SendAsync(RedisValue[] args, CancellationToken cancellationToken)
    {
        var command = new PendingCommand(args, cancellationToken);
        if (!IsAlive || !_outgoing.Writer.TryWrite(command))
        {
            command.TrySetException(new RedisConnectionException("The connection to Redis is closed."));
        }
        return command.Task;
    }

    private async Task WriteLoopAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(MaxWriteBatch);
        try
        {
            while (await _outgoing.Reader.WaitToReadAsync(_closing.Token).ConfigureAwait(false))
            {
                while (buffer.WrittenCount < MaxWriteBatch && _outgoing.Reader.TryRead(out var command))
                {
                    if (command.CancellationToken.IsCancellationRequested)
                    {
                        command.TrySetCanceled(command.CancellationToken);
                        continue;
                    }
                    // Enqueued before it is written: its reply cannot arrive before it is in the queue.
                    _inflight.Enqueue(command);
                    RedisValue.WriteHeader(buffer, (byte)'*', command.Args.Length);
                    foreach (var arg in command.Args)
                    {
                        arg.WriteBulk(buffer);
                    }
                }
                if (buffer.WrittenCount > 0)
                {
                    await _stream.WriteAsync(buffer.WrittenMemory, _closing.Token).ConfigureAwait(false);
                    buffer.ResetWrittenCount();
                }
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var read = await _reader.ReadAsync(_closing.Token).ConfigureAwait(false);
                var buffer = read.Buffer;
                var reader = new SequenceReader<byte>(buffer);
                var consumed = buffer.Start;
                while (RedisResult.TryParse(ref reader, out var result))
                {
                    consumed = reader.Position;
                    Dispatch(result!);
                }
                _reader.AdvanceTo(consumed, buffer.End);
                if (read.IsCompleted)
                {
                    throw new RedisConnectionException("Redis closed the connection.");
                }
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private void Dispatch(RedisResult result)
    {
        if (_onPush is not null && result is { Type: ResultType.Array, Items: [{ } kind, ..] } && (string?)kind.Value is "message" or "pmessage")
        {
            _onPush(result);
            return;
        }
        if (!_inflight.TryDequeue(out var command))
        {
            throw new RedisConnectionException("Redis sent a reply nobody asked for: the connection is out of step.");
        }
        if (result.Type == ResultType.Error)
        {
            command.TrySetException(new RedisServerException(result.Value.ToString()!));
        }
        else
        {
            command.TrySetResult(result);
        }
    }

    private void Fail(Exception reason)
    {
        if (Interlocked.Exchange(ref _failed, 1) == 1)
        {
            return;
        }
        _closing.Cancel();
        _outgoing.Writer.TryComplete();
        var error = reason as RedisConnectionException ?? new RedisConnectionException($"The connection to Redis was lost: {reason.Message}", reason);
        while (_inflight.TryDequeue(out var command))
        {
            command.TrySetException(error);
        }
        while (_outgoing.Reader.TryRead(out var command))
        {
            command.TrySetException(error);
        }
        _socket.Dispose();
        _failureHandler?.Invoke(this, error);
    }

    /// <summary>Closes the socket; unanswered commands fail.</summary>
    public async ValueTask DisposeAsync()
    {
        _failureHandler = null;
        Fail(new RedisConnectionException("The connection was closed."));
        await _loops.ConfigureAwait(false);
        await _reader.CompleteAsync().ConfigureAwait(false);
        _closing.Dispose();
    }
}

/// <summary>Retries a connection with exponential back-off (50 ms doubling to 2 s) until it succeeds or is cancelled.</summary>
internal static class Reconnection
{
    public static async Task RunAsync(Func<CancellationToken, Task> connect, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                await connect(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RedisConnectionException)
            {
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
