using Platform.LoadTest;
using Spectre.Console;

// dotnet run -c Release --project tools/LoadTest -- <chat|voice|mixed|surge|ratelimit|cache|queue> [options]; see docs/PERFORMANCE.md.
var (options, problems) = LoadOptions.Parse(args);
if (options is null)
{
    foreach (var problem in problems)
    {
        AnsiConsole.MarkupLine($"[red]{Markup.Escape(problem)}[/]");
    }
    AnsiConsole.MarkupLine("usage: LoadTest <chat|voice|mixed|surge|ratelimit|cache|queue> [--users N] [--duration 60s] [--ramp-up 10s] [--think-time 10s] " +
                           "[--base-users N] [--surge-at 20s] [--surge-for 20s] [--surge-ramp 2s] " +
                           "[--rate N | --concurrency N] [--popular-share 0.3] [--stream-share 0.2] [--voice-share 0.1] [--chat-url URL] [--chat-grpc-url URL] " +
                           "[--ratelimit-url URL] [--cache-url URL] [--queue-url URL] [--redis host:port] [--api-key KEY] [--platform-key KEY] [--baseline] " +
                           "[--processes ChatApi,RateLimit,...] [--report report.json] [--no-live]");
    return 2;
}

if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 200; // a report in a file or CI log should not wrap at 80 columns
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
var report = await LoadRun.RunAsync(options, AnsiConsole.Console, TimeProvider.System, stop.Token);
report.Write(AnsiConsole.Console);
if (options.ReportPath is { } path)
{
    await File.WriteAllTextAsync(path, report.ToJson());
    AnsiConsole.MarkupLine($"Report written to {Markup.Escape(path)}");
}
return report.Result.Errors == 0 ? 0 : 1;
