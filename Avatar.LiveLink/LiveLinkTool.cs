namespace Avatar.LiveLink;

/// <summary>The tool from its command line to its exit code; Program.cs gives it the console.</summary>
public static class LiveLinkTool
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextReader input, TextWriter output, TextWriter log,
        CancellationToken cancellationToken)
    {
        if (args.Count == 0 || args.Contains("--help") || args.Contains("-h"))
        {
            output.WriteLine(LiveLinkOptions.Usage);
            return args.Count == 0 ? ToolException.Usage : 0;
        }
        try
        {
            var options = LiveLinkOptions.Parse(args, Environment.GetEnvironmentVariable("AVATAR_API_KEY"));
            using var sender = await LiveLinkSender.CreateAsync(options.Host, options.Port, options.DeviceId, options.Subject, log, cancellationToken);
            using var player = new FacePlayer(sender, options.File is null ? new IdleMotion(options.Seed) : null,
                options.Wav is null ? null : new WavWriter(options.Wav), options.Wav is null ? FindSpeaker(log) : null);
            log.WriteLine($"Sending Live Link Face packets for subject '{options.Subject}' to {sender.Target}.");
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var playing = player.RunAsync(stop.Token);
            try
            {
                await (options.File is null
                    ? ConversationClient.RunAsync(options, player, input, output, log, cancellationToken)
                    : FileAnimator.RunAsync(options, player, log, cancellationToken));
            }
            finally
            {
                await stop.CancelAsync();
                await playing;
            }
            Report(player, log);
            return 0;
        }
        catch (ToolException e)
        {
            log.WriteLine($"avatar-livelink: {e.Message}");
            if (e.ExitCode == ToolException.Usage)
            {
                log.WriteLine("Run avatar-livelink --help for the options.");
            }
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
    }

    private static Speaker? FindSpeaker(TextWriter log)
    {
        var speaker = Speaker.Find(log);
        log.WriteLine(speaker is null
            ? "No audio player (paplay, aplay, play) on the PATH: the face moves without sound; --wav keeps the audio in a file."
            : $"The voice plays through {speaker.Command}.");
        return speaker;
    }

    private static void Report(FacePlayer player, TextWriter log)
    {
        var lateness = player.Lateness.Order().ToList();
        if (lateness.Count > 0)
        {
            log.WriteLine($"Sent {player.PacketsSent} packets; speech frames went out behind the audio clock by {lateness[lateness.Count / 2]:0.0} ms (median), {lateness[^1]:0.0} ms at most.");
        }
    }
}
