using System.Threading.Channels;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>
/// Runs the lip-sync network on a batch of input rows (<see cref="LipSyncNetwork.InputSize"/> values each), writing
/// <see cref="LipSyncNetwork.Outputs"/> viseme probabilities per row. Two implementations: the network itself in C# (it
/// is what training uses) and the exported ONNX model through ONNX Runtime (what the service runs, on GPU when present).
/// </summary>
public interface IVisemeModel
{
    /// <summary>Runs <paramref name="rows"/> rows of <paramref name="inputs"/> into <paramref name="probabilities"/>.</summary>
    void Run(Memory<float> inputs, int rows, Memory<float> probabilities);
}

/// <summary>
/// Networks run side by side, their viseme probabilities averaged: what <see cref="OnnxVisemeModel.Export(IReadOnlyList{LipSyncNetwork})"/>
/// writes, in C#, for training and its tests.
/// </summary>
public sealed class VisemeEnsemble(IReadOnlyList<IVisemeModel> members) : IVisemeModel
{
    /// <inheritdoc />
    public void Run(Memory<float> inputs, int rows, Memory<float> probabilities)
    {
        var total = probabilities.Span[..(rows * LipSyncNetwork.Outputs)];
        var one = new float[total.Length];
        total.Clear();
        foreach (var member in members)
        {
            member.Run(inputs, rows, one);
            System.Numerics.Tensors.TensorPrimitives.Add(total, one, total);
        }
        System.Numerics.Tensors.TensorPrimitives.Divide(total, members.Count, total);
    }
}

/// <summary>
/// Shares one model among many streams: requests that arrive while a run is in progress are gathered into the next run,
/// so hundreds of concurrent streams cost a few large model calls instead of many small ones (what makes a GPU pay off).
/// </summary>
public sealed class BatchingVisemeModel : IAsyncDisposable
{
    private readonly IVisemeModel _model;
    private readonly int _maxRows;
    private readonly Channel<Request> _requests;
    private readonly Task _worker;
    private float[] _inputs = [];
    private float[] _outputs = [];

    /// <summary>Creates the batcher; a run takes at most <paramref name="maxRows"/> rows.</summary>
    public BatchingVisemeModel(IVisemeModel model, int maxRows = 4096, int maxQueuedRequests = 10_000)
    {
        _model = model;
        _maxRows = maxRows;
        // Bounded: when the model cannot keep up, callers wait instead of memory growing without limit.
        _requests = Channel.CreateBounded<Request>(new BoundedChannelOptions(maxQueuedRequests) { SingleReader = true });
        _worker = Task.Run(RunAsync);
    }

    /// <summary>Rows run so far, and runs made: their ratio is the average batch size.</summary>
    public (long Rows, long Runs) Statistics => (Interlocked.Read(ref _rowsRun), Interlocked.Read(ref _runs));

    private long _rowsRun;
    private long _runs;

    /// <summary>Runs <paramref name="rows"/> rows, batched with whatever else is waiting.</summary>
    public async ValueTask PredictAsync(float[] inputs, int rows, float[] probabilities, CancellationToken cancellationToken = default)
    {
        if (rows == 0)
        {
            return;
        }
        var request = new Request(inputs, rows, probabilities);
        await _requests.Writer.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        await request.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<Request>();
        while (await _requests.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var rows = 0;
            while (rows < _maxRows && _requests.Reader.TryRead(out var request))
            {
                batch.Add(request);
                rows += request.Rows;
            }
            try
            {
                Run(batch, rows);
                batch.ForEach(r => r.Done.TrySetResult());
            }
            catch (Exception ex)
            {
                batch.ForEach(r => r.Done.TrySetException(ex));
            }
            batch.Clear();
        }
    }

    private void Run(List<Request> batch, int rows)
    {
        const int inSize = LipSyncNetwork.InputSize;
        const int outSize = LipSyncNetwork.Outputs;
        if (batch.Count == 1)
        {
            _model.Run(batch[0].Inputs.AsMemory(0, rows * inSize), rows, batch[0].Probabilities.AsMemory(0, rows * outSize));
        }
        else
        {
            if (_inputs.Length < rows * inSize)
            {
                _inputs = new float[rows * inSize * 2];
                _outputs = new float[rows * outSize * 2];
            }
            var offset = 0;
            foreach (var request in batch)
            {
                request.Inputs.AsSpan(0, request.Rows * inSize).CopyTo(_inputs.AsSpan(offset * inSize));
                offset += request.Rows;
            }
            _model.Run(_inputs.AsMemory(0, rows * inSize), rows, _outputs.AsMemory(0, rows * outSize));
            offset = 0;
            foreach (var request in batch)
            {
                _outputs.AsSpan(offset * outSize, request.Rows * outSize).CopyTo(request.Probabilities);
                offset += request.Rows;
            }
        }
        Interlocked.Add(ref _rowsRun, rows);
        Interlocked.Increment(ref _runs);
    }

    /// <summary>Stops the worker after the queued requests.</summary>
    public async ValueTask DisposeAsync()
    {
        _requests.Writer.TryComplete();
        await _worker.ConfigureAwait(false);
    }

    private sealed record Request(float[] Inputs, int Rows, float[] Probabilities)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
