using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Platform.AudioQueue.V1;
using Platform.Cache.V1;
using Platform.Diagnostics.V1;
using Platform.RateLimit.V1;

namespace Platform.AppHost;

/// <summary>
/// The dashboard's buttons for operators: each calls a service's admin RPC with the operator key, over the
/// resource's own gRPC endpoint, and shows the answer (or the service's error message).
/// </summary>
public static class OperatorCommands
{
    public static IResourceBuilder<ProjectResource> WithRateLimitCommands(this IResourceBuilder<ProjectResource> ratelimit, PlatformCredentials credentials) =>
        ratelimit.WithOperatorCommand(credentials, "reset-key", "Reset key", "ArrowReset",
            "Forgets all usage of a (policy, key), as if it had never been seen.",
            [TeamInput, Input("policy", "Policy", "chat"), Input("key", "Key", "user-42")],
            async (channel, args, ct) =>
            {
                var (team, policy, key) = (args.GetString("team") ?? "", args.GetString("policy") ?? "", args.GetString("key") ?? "");
                await new RateLimiter.RateLimiterClient(channel).ResetAsync(new ResetRequest { Team = team, Policy = policy, Key = key }, cancellationToken: ct);
                return ($"Reset {policy}/{key} of team {TeamName(team)}.", null);
            });

    public static IResourceBuilder<ProjectResource> WithCacheCommands(this IResourceBuilder<ProjectResource> cache, PlatformCredentials credentials) =>
        cache.WithOperatorCommand(credentials, "clear-namespace", "Clear namespace", "Delete",
            "Removes every entry of a team's cache namespace.",
            [TeamInput, Input("namespace", "Namespace", "chat")],
            async (channel, args, ct) =>
            {
                var (team, ns) = (args.GetString("team") ?? "", args.GetString("namespace") ?? "");
                var cleared = await new Cache.V1.Cache.CacheClient(channel).ClearAsync(new ClearRequest { Team = team, Namespace = ns }, cancellationToken: ct);
                return ($"Removed {cleared.Removed} entries from {TeamName(team)}/{ns}.", null);
            },
            confirmation: "Remove every entry of the namespace? Callers will miss until they fill it again.");

    public static IResourceBuilder<ProjectResource> WithAudioQueueCommands(this IResourceBuilder<ProjectResource> audioqueue, PlatformCredentials credentials) =>
        audioqueue
            .WithOperatorCommand(credentials, "pause", "Pause", "Pause", "Workers lease nothing until Resume; enqueues are still accepted.", [],
                async (channel, _, ct) => Stats("Paused", await new AudioQueue.V1.AudioQueue.AudioQueueClient(channel).PauseAsync(new PauseRequest(), cancellationToken: ct)))
            .WithOperatorCommand(credentials, "resume", "Resume", "Play", "Workers lease again.", [],
                async (channel, _, ct) => Stats("Resumed", await new AudioQueue.V1.AudioQueue.AudioQueueClient(channel).ResumeAsync(new ResumeRequest(), cancellationToken: ct)))
            .WithOperatorCommand(credentials, "requeue-dead", "Requeue dead letters", "ArrowRepeatAll", "Queues every DEAD job again, with fresh attempts.", [],
                async (channel, _, ct) =>
                {
                    var requeued = await new AudioQueue.V1.AudioQueue.AudioQueueClient(channel).RequeueAsync(new RequeueRequest(), cancellationToken: ct);
                    return ($"Requeued {requeued.Requeued} dead jobs.", null);
                },
                confirmation: "Queue every dead job again?");

    /// <summary>Shows the replica's Diagnostics.GetScalingInfo: cores, memory, concurrency in force.</summary>
    public static IResourceBuilder<ProjectResource> WithScalingInfoCommand(this IResourceBuilder<ProjectResource> service, PlatformCredentials credentials) =>
        service.WithOperatorCommand(credentials, "scaling-info", "Scaling info", "Info", "This replica's cores, memory and concurrency settings.", [],
            async (channel, _, ct) =>
            {
                var info = await new Diagnostics.V1.Diagnostics.DiagnosticsClient(channel).GetScalingInfoAsync(new GetScalingInfoRequest(), cancellationToken: ct);
                return ($"{info.Service} {info.ReplicaId}: {info.ProcessorCount} cores, {info.MemoryLimitBytes / (1024 * 1024)} MiB available.", JsonFormatter.Default.Format(info));
            });

    static readonly InteractionInput TeamInput = Input("team", "Team", "empty: platform (the operators' own)", required: false);

    static InteractionInput Input(string name, string label, string placeholder, bool required = true) =>
        new() { Name = name, Label = label, InputType = InputType.Text, Required = required, Placeholder = placeholder };

    static string TeamName(string team) => team.Length > 0 ? team : "platform";

    static (string, string?) Stats(string what, QueueStats stats) =>
        ($"{what}: {stats.Depth} waiting, {stats.Processing} processing, {stats.Dead} dead.", JsonFormatter.Default.Format(stats));

    delegate Task<(string Message, string? Json)> AdminCall(GrpcChannel channel, InteractionInputCollection args, CancellationToken cancellationToken);

    static IResourceBuilder<ProjectResource> WithOperatorCommand(this IResourceBuilder<ProjectResource> service, PlatformCredentials credentials,
        string name, string displayName, string icon, string description, IReadOnlyList<InteractionInput> arguments, AdminCall call,
        string? confirmation = null, string endpointName = "http")
    {
        var endpoint = service.GetEndpoint(endpointName);
        return service.WithCommand(name, displayName, async context =>
        {
            var key = await credentials.OperatorKey.Resource.GetValueAsync(context.CancellationToken);
            using var channel = PlatformChannel.ForAddress(new Uri(endpoint.Url), key);
            try
            {
                var (message, json) = await call(channel, context.Arguments ?? new InteractionInputCollection([]), context.CancellationToken);
                context.Logger.LogInformation("{Command} on {Resource}: {Message}", displayName, context.ResourceName, message);
                return json is null ? CommandResults.Success(message) : CommandResults.Success(message, json, CommandResultFormat.Json);
            }
            catch (RpcException e)
            {
                return CommandResults.Failure($"{e.StatusCode}: {e.Status.Detail}");
            }
        },
        new CommandOptions
        {
            Description = description,
            IconName = icon,
            Arguments = arguments,
            ConfirmationMessage = confirmation,
            // Only a running service can answer.
            UpdateState = context => context.ResourceSnapshot.State?.Text == KnownResourceStates.Running ? ResourceCommandState.Enabled : ResourceCommandState.Disabled,
        });
    }
}
