using Aspire.Hosting.Testing;
using Avatar.A2F.Contracts;
using Avatar.Tests.Chat;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Nvidia.Ace.A2F.V1;
using Nvidia.Ace.Audio.V1;
using Xunit.Abstractions;
using AnimationData = Nvidia.Ace.AnimationData.V1;
using Client = Nvidia.Ace.Controller.V1;
using Emotion = Nvidia.Ace.EmotionWithTimecode.V1.EmotionWithTimeCode;

namespace Avatar.Tests.Fuzzing;

/// <summary>
/// Malformed protobuf and messages in every wrong order against NVIDIA's A2F API: the controller's ProcessAudioStream,
/// inference's PushAudioStream and the controller's animation port. Calls carry raw bytes (a byte[] marshaller), so a
/// message reaches the server's parser exactly as the case made it.
/// </summary>
[Collection(FuzzingCollection.Name)]
public sealed class A2FFuzzTests(FuzzTopology topology, ITestOutputHelper output)
{
    private static readonly Marshaller<byte[]> s_raw = Marshallers.Create(bytes => bytes, bytes => bytes);

    private static readonly Method<byte[], byte[]> s_controller = new(MethodType.DuplexStreaming,
        Nvidia.Ace.Services.A2FController.V1.A2FControllerService.Descriptor.FullName, "ProcessAudioStream", s_raw, s_raw);

    private static readonly Method<byte[], byte[]> s_inference = new(MethodType.ClientStreaming,
        Nvidia.Ace.Services.A2F.V1.A2FService.Descriptor.FullName, "PushAudioStream", s_raw, s_raw);

    private static readonly Method<byte[], byte[]> s_animation = new(MethodType.ClientStreaming,
        Nvidia.Ace.Services.AnimationData.V1.AnimationDataService.Descriptor.FullName, "PushAnimationDataStream", s_raw, s_raw);

    // UNKNOWN is an exception that escaped a handler (gRPC's 500), INTERNAL and DATA_LOSS a server fault, and
    // DEADLINE_EXCEEDED a call that hung: a call with 30 s to live and a few small messages has no business running out.
    private static readonly StatusCode[] s_serverFaults = [StatusCode.Unknown, StatusCode.Internal, StatusCode.DataLoss, StatusCode.DeadlineExceeded];

    /// <summary>HTTP/2's ENHANCE_YOUR_CALM error code.</summary>
    private const long EnhanceYourCalm = 0xb;

    /// <summary>HTTP/2's STREAM_CLOSED error code.</summary>
    private const long StreamClosed = 0x5;

    [Fact]
    public async Task Ten_thousand_malformed_messages_and_stream_orders_get_no_server_fault()
    {
        var (controllerAddress, animationAddress, inferenceAddress) = (topology.App.GetEndpoint("a2f-controller", "grpc"),
            topology.App.GetEndpoint("a2f-controller", "animation"), topology.App.GetEndpoint("a2f-inference", "grpc"));
        using var controller = GrpcChannel.ForAddress(controllerAddress);
        using var animation = GrpcChannel.ForAddress(animationAddress);
        using var inference = GrpcChannel.ForAddress(inferenceAddress);
        await FuzzRun.RunAsync(topology.App, output, "a2f", ["a2f-controller", "a2f-inference"], lanes: 8, async (_, input) =>
        {
            var call = input.Next(10) switch
            {
                < 6 => new A2FCall(s_controller, ControllerStream(input), null),
                < 9 => new A2FCall(s_inference, InferenceStream(input), input.Chance(0.2) ? Callback(input) : null),
                _ => new A2FCall(s_animation, [.. Enumerable.Range(0, input.Next(1, 4)).Select(_ => AnimationMessage(input))], null),
            };
            var (shared, address) = call.Method == s_controller ? (controller, controllerAddress)
                : call.Method == s_inference ? (inference, inferenceAddress) : (animation, animationAddress);
            // A case with a message over 256 KB gets a connection of its own. When the server refuses such a stream early,
            // the client's write of the rest can stall on flow control that the server no longer grants, and with it
            // every other write on the connection (seen: cases of a few hundred bytes ran out their deadline behind one).
            using var own = call.Parts.Any(p => p.Bytes.Length > 256 * 1024) ? GrpcChannel.ForAddress(address) : null;
            var channel = own ?? shared;
            try
            {
                // The call's own 30 s deadline should end it; a call still running well past that is a hang to report,
                // with the case that made it, not a test run stuck until the runner's hang timeout.
                var status = await call.RunAsync(channel.CreateCallInvoker()).WaitAsync(TimeSpan.FromSeconds(45));
                return s_serverFaults.Contains(status.StatusCode) && !ClosedForAnotherCallsFrames(status) ? $"{status.StatusCode} \"{status.Detail}\" for {call}" : null;
            }
            catch (HttpProtocolException e) when (e.ErrorCode is EnhanceYourCalm or StreamClosed)
            {
                // ENHANCE_YOUR_CALM is Kestrel's guard against rapid stream resets (CVE-2023-44487): calls the server ends
                // while the client still sends are reset, and thousands of them on one connection look like that attack.
                // STREAM_CLOSED: see ClosedForAnotherCallsFrames.
                return null;
            }
            catch (TimeoutException)
            {
                return $"the call outlived its deadline by 15 s: {call}";
            }
            catch (Exception e)
            {
                // Not a gRPC status at all: the server broke the HTTP/2 connection, or sent what the client cannot read.
                return $"{e.GetType().Name}: {e.GetBaseException().Message} for {call}";
            }
        });
    }

    /// <summary>A client's stream: mostly header, audio, end_of_audio, with steps skipped, repeated and swapped.</summary>
    private static List<Part> ControllerStream(FuzzInput input)
    {
        var rate = input.Pick(16_000u, 22_050u, 44_100u, 144_000u);
        return Order(input, kind => kind switch
        {
            0 => new Part("header", new Client.AudioStream
            {
                AudioStreamHeader = new Client.AudioStreamHeader
                {
                    AudioHeader = input.Chance(0.05) ? null : Audio(input, rate),
                    FaceParams = input.Chance(0.2) ? Face(input) : null,
                    BlendshapeParams = input.Chance(0.2) ? Shapes(input) : null,
                    EmotionParams = input.Chance(0.2) ? Emotions(input) : null,
                    EmotionPostProcessingParams = input.Chance(0.2) ? PostProcessing(input) : null,
                },
            }),
            1 => new Part("audio", new Client.AudioStream { AudioWithEmotion = Chunk(input, rate) }),
            2 => new Part("end_of_audio", new Client.AudioStream { EndOfAudio = new() }),
            _ => new Part("empty", new Client.AudioStream()),
        });
    }

    /// <summary>What a controller pushes to inference, in every order, with random animation ids.</summary>
    private static List<Part> InferenceStream(FuzzInput input)
    {
        var rate = input.Pick(16_000u, 22_050u, 44_100u, 144_000u);
        return Order(input, kind => kind switch
        {
            0 => new Part("header", new AudioStream
            {
                AudioStreamHeader = new AudioStreamHeader
                {
                    AnimationIds = input.Chance(0.1) ? null : new() { StreamId = input.Chance(0.5) ? Guid.NewGuid().ToString() : input.Text(), RequestId = input.Text() },
                    AudioHeader = input.Chance(0.05) ? null : Audio(input, rate),
                    FaceParams = input.Chance(0.2) ? Face(input) : null,
                    BlendshapeParams = input.Chance(0.2) ? Shapes(input) : null,
                    EmotionParams = input.Chance(0.2) ? Emotions(input) : null,
                    EmotionPostProcessingParams = input.Chance(0.2) ? PostProcessing(input) : null,
                },
            }),
            1 => new Part("audio", new AudioStream { AudioWithEmotion = Chunk(input, rate) }),
            _ => new Part("empty", new AudioStream()),
        });
    }

    /// <summary>Animation for a stream nobody waits for, or from a header-less push.</summary>
    private static Part AnimationMessage(FuzzInput input) => input.Next(3) switch
    {
        0 => new Part("animation header", new AnimationData.AnimationDataStream
        {
            AnimationDataStreamHeader = new() { AnimationIds = new() { StreamId = input.Text() }, SkelAnimationHeader = new() { BlendShapes = { input.Text() } } },
        }),
        1 => new Part("animation data", new AnimationData.AnimationDataStream
        {
            AnimationData = new() { SkelAnimation = new() { BlendShapeWeights = { new AnimationData.FloatArrayWithTimeCode { TimeCode = Number(input), Values = { (float)Number(input) } } } } },
        }),
        _ => new Part("animation status", new AnimationData.AnimationDataStream { Status = new() { Code = (Nvidia.Ace.Status.V1.Status.Types.Code)input.Next(6) } }),
    };

    /// <summary>
    /// The right order (header, audio 0 to 3 times, end) bent now and then: a step dropped, an extra one put anywhere (a
    /// second header, audio after the end, an end first), two swapped; and some messages' bytes mangled on the way out.
    /// </summary>
    private static List<Part> Order(FuzzInput input, Func<int, Part> part)
    {
        List<int> kinds = [0, .. Enumerable.Repeat(1, input.Next(4)), 2];
        if (input.Chance(0.3))
        {
            kinds.RemoveAt(input.Next(kinds.Count));
        }
        if (input.Chance(0.3))
        {
            kinds.Insert(input.Next(kinds.Count + 1), input.Next(4));
        }
        if (input.Chance(0.2) && kinds.Count > 1)
        {
            var (a, b) = (input.Next(kinds.Count), input.Next(kinds.Count));
            (kinds[a], kinds[b]) = (kinds[b], kinds[a]);
        }
        return [.. kinds.Select(part).Select(p => input.Chance(0.1) ? p.Mangled(input) : p)];
    }

    private static AudioHeader Audio(FuzzInput input, uint rate) => input.Chance(0.8)
        ? new() { AudioFormat = AudioHeader.Types.AudioFormat.Pcm, ChannelCount = 1, SamplesPerSecond = rate, BitsPerSample = 16 }
        : new()
        {
            AudioFormat = (AudioHeader.Types.AudioFormat)input.Pick(0, 1, -1, int.MaxValue),
            ChannelCount = input.Pick(0u, 1u, 2u, uint.MaxValue),
            SamplesPerSecond = input.Pick(0u, 8_000u, 15_999u, 16_000u, 144_001u, uint.MaxValue),
            BitsPerSample = input.Pick(0u, 8u, 16u, 24u, uint.MaxValue),
        };

    /// <summary>Audio of every awkward size (none, an odd count, just over the 10 s a message may hold) with emotions at odd times.</summary>
    private static AudioWithEmotion Chunk(FuzzInput input, uint rate)
    {
        var chunk = new AudioWithEmotion
        {
            AudioBuffer = ByteString.CopyFrom(input.Chance(0.01) ? new byte[(rate * 20) + 2] : input.Bytes(input.Pick(0, 1, 321, 3_200, 16_000))),
        };
        if (input.Chance(0.2))
        {
            chunk.Emotions.Add(new Emotion { TimeCode = Number(input), Emotion = { [Name(input, A2FApi.Emotions)] = (float)Number(input) } });
        }
        return chunk;
    }

    private static FaceParameters Face(FuzzInput input) => new()
    {
        FloatParams = { [Name(input, A2FApi.FaceParameters)] = (float)Number(input) },
        IntegerParams = { [input.Text()] = input.Pick(int.MinValue, -1, 0, int.MaxValue) },
        FloatArrayParams = { [input.Text()] = new FloatArray { Values = { (float)Number(input) } } },
    };

    private static BlendShapeParameters Shapes(FuzzInput input) => new()
    {
        BsWeightMultipliers = { [Name(input, A2FApi.BlendShapeNames)] = (float)Number(input) },
        BsWeightOffsets = { [Name(input, A2FApi.BlendShapeNames)] = (float)Number(input) },
        EnableClampingBsWeight = input.Chance(0.5),
    };

    private static EmotionParameters Emotions(FuzzInput input) => new()
    {
        LiveTransitionTime = (float)Number(input),
        BeginningEmotion = { [Name(input, A2FApi.Emotions)] = (float)Number(input) },
    };

    private static EmotionPostProcessingParameters PostProcessing(FuzzInput input) => new()
    {
        EmotionContrast = (float)Number(input),
        LiveBlendCoef = (float)Number(input),
        EnablePreferredEmotion = input.Chance(0.5),
        PreferredEmotionStrength = (float)Number(input),
        EmotionStrength = (float)Number(input),
        MaxEmotions = input.Pick(int.MinValue, -1, 0, 1, 3, 6, 7, int.MaxValue),
    };

    /// <summary>A name the API knows, in the wrong case, or any string at all.</summary>
    private static string Name(FuzzInput input, IReadOnlyList<string> known) => input.Next(5) switch
    {
        < 3 => known[input.Next(known.Count)],
        3 => known[input.Next(known.Count)].ToUpperInvariant(),
        _ => input.Text(),
    };

    private static double Number(FuzzInput input) =>
        input.Pick(0, 1, -1, 0.5, 1e-45, 1e30, -1e30, 1e300, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon);

    /// <summary>Where inference is asked to send the animation: refused outside loopback and private addresses, or closed.</summary>
    private static string Callback(FuzzInput input) => input.Pick("http://127.0.0.1:1", "http://[::1]:1", "https://example.com", "http://8.8.8.8:51000",
        "not a url", "", "http://127.0.0.1:1/../x", new string('a', 4000));

    /// <summary>One message as it goes out: its bytes, and what they were before any mangling.</summary>
    private sealed record Part(string What, byte[] Bytes)
    {
        public Part(string what, IMessage message) : this(what, message.ToByteArray())
        {
        }

        /// <summary>The bytes broken as a bad encoder or a bad line breaks them: cut, flipped, extended, or with a lying length.</summary>
        public Part Mangled(FuzzInput input)
        {
            var at = Bytes.Length == 0 ? 0 : input.Next(Bytes.Length);
            byte[] bytes = input.Next(5) switch
            {
                0 => Bytes[..at],
                1 => [.. Bytes[..at], (byte)input.Next(256), .. Bytes[Math.Min(at + 1, Bytes.Length)..]],
                2 => [.. Bytes, .. input.Bytes(16)],
                3 => [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, .. Bytes], // field 1, length 4 GiB
                _ => input.Bytes(64),
            };
            return new Part($"{What} mangled", bytes);
        }
    }

    /// <summary>
    /// Kestrel ends the whole HTTP/2 connection with STREAM_CLOSED when DATA arrives on a stream the client has already
    /// reset (RFC 9113 lets it choose a connection error): SocketsHttpHandler, cancelling one case's call while its write
    /// is going out, can send the write's tail after its RST_STREAM, and every call on that connection, this case's
    /// among them, then ends as INTERNAL. That is the client's stack and Kestrel's rule, not a handler of ours; a fault
    /// of ours closes with INTERNAL_ERROR or answers a status, both still counted.
    /// </summary>
    private static bool ClosedForAnotherCallsFrames(Status status) =>
        status.StatusCode == StatusCode.Internal && status.DebugException?.GetBaseException() is HttpProtocolException { ErrorCode: StreamClosed };

    private sealed record A2FCall(Method<byte[], byte[]> Method, List<Part> Parts, string? Callback)
    {
        /// <summary>
        /// Sends every part, half-closes, and reads to the end; the status is the call's outcome as the client sees it.
        /// Writes first, reads after, on purpose: reading the server's end while a write was still going out made the
        /// client reset the stream under that write, and Kestrel closed the whole connection (STREAM_CLOSED) for the DATA
        /// that followed, failing other cases' calls on it (tried 2026-11-29: two full runs of four failed so, one hung).
        /// </summary>
        public async Task<Status> RunAsync(CallInvoker invoker)
        {
            var options = new CallOptions(Callback is null ? null : new Metadata { { A2FApi.AnimationCallbackHeader, Callback } }, DateTime.UtcNow.AddSeconds(30));
            try
            {
                if (Method.Type == MethodType.DuplexStreaming)
                {
                    using var duplex = invoker.AsyncDuplexStreamingCall(Method, null, options);
                    await WriteOrGiveUpAsync(duplex.RequestStream);
                    while (await duplex.ResponseStream.MoveNext(CancellationToken.None))
                    {
                    }
                    return duplex.GetStatus();
                }
                using var call = invoker.AsyncClientStreamingCall(Method, null, options);
                await WriteOrGiveUpAsync(call.RequestStream);
                await call.ResponseAsync;
                return call.GetStatus();
            }
            catch (RpcException e)
            {
                return e.Status;
            }
        }

        /// <summary>
        /// Writes every part, but reads the outcome after 10 s even if a write still waits: a large message's write can
        /// wait on flow-control credit that a server which has already refused the stream never grants, past the call's
        /// deadline (seen: 1 run in 3). The server's status arrives all the same (trailers are not flow-controlled), and
        /// the call's disposal ends the write.
        /// </summary>
        private async Task WriteOrGiveUpAsync(IClientStreamWriter<byte[]> requests) =>
            await WriteAsync(requests).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        private async Task WriteAsync(IClientStreamWriter<byte[]> requests)
        {
            try
            {
                foreach (var part in Parts)
                {
                    await requests.WriteAsync(part.Bytes);
                }
                await requests.CompleteAsync();
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                // The server ended the call before taking every message (a gRPC server answers its status, then resets
                // the stream with CANCEL under a write still going out); the status read next says why.
            }
        }

        public override string ToString() =>
            $"{Method.ServiceName}/{Method.Name}{(Callback is null ? "" : $" to {FuzzRun.Show(Callback)}")}: " +
            string.Join(", ", Parts.Select(p => $"{p.What} [{Convert.ToHexString(p.Bytes.AsSpan(0, Math.Min(p.Bytes.Length, 48)))}{(p.Bytes.Length > 48 ? $"... {p.Bytes.Length} bytes" : "")}]"));
    }
}
