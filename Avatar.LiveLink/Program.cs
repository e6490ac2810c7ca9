using Avatar.LiveLink;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Ctrl+C leaves cleanly: the WAV file gets its header, the player stops.
    e.Cancel = true;
    stop.Cancel();
};
return await LiveLinkTool.RunAsync(args, Console.In, Console.Out, Console.Error, stop.Token);
