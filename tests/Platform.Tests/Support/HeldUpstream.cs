using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.Tests.Support;

/// <summary>A request <see cref="HeldUpstream"/> received and holds until the test answers it.</summary>
public sealed class HeldRequest(string path)
{
    readonly TaskCompletionSource<string> answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>/v1/chat/completions or /v1/audio/transcriptions.</summary>
    public string Path => path;

    internal Task<string> Answer => answer.Task;

    /// <summary>Lets the request finish: the chat reply, or the transcript.</summary>
    public void Release(string text) => answer.TrySetResult(text);
}

/// <summary>
/// An OpenAI-compatible provider on a loopback port (chat completions, audio transcriptions) that holds every
/// request until the test releases it: the test knows a call is in flight and decides when, or whether, it ends.
/// </summary>
public sealed class HeldUpstream(WebApplication app, Channel<HeldRequest> arrivals, CancellationTokenSource stopping) : IAsyncDisposable
{
    /// <summary>The base URL to configure as the provider's endpoint (…/v1).</summary>
    public string Endpoint => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/v1";

    public static async Task<HeldUpstream> StartAsync()
    {
        var arrivals = Channel.CreateUnbounded<HeldRequest>();
        var stopping = new CancellationTokenSource();
        // Its own content root: the test output's appsettings.json (a service's) names Kestrel endpoints on fixed ports.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Path.GetTempPath() });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0,
            listen => listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1));
        var app = builder.Build();

        async Task<string> HoldAsync(HttpContext http)
        {
            await http.Request.Body.CopyToAsync(Stream.Null, http.RequestAborted);
            var held = new HeldRequest(http.Request.Path);
            await arrivals.Writer.WriteAsync(held, http.RequestAborted);
            using var either = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping.Token);
            return await held.Answer.WaitAsync(either.Token);
        }

        app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            var text = await HoldAsync(http);
            return Results.Json(new
            {
                id = "chatcmpl-held", @object = "chat.completion", created = 1_700_000_000L, model = "held-model",
                choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 1, completion_tokens = 1, total_tokens = 2 },
            });
        });
        // A block body: an expression-bodied async lambda taking HttpContext binds as a RequestDelegate, dropping the result.
        app.MapPost("/v1/audio/transcriptions", async (HttpContext http) =>
        {
            var text = await HoldAsync(http);
            return Results.Json(new { text });
        });
        await app.StartAsync();
        return new HeldUpstream(app, arrivals, stopping);
    }

    /// <summary>The next request to arrive (waits at most 30 s).</summary>
    public async Task<HeldRequest> NextAsync()
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        return await arrivals.Reader.ReadAsync(deadline.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        await app.DisposeAsync();
        stopping.Dispose();
    }
}
