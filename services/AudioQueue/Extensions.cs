using System.Globalization;
using Grpc.AspNetCore.Server;
using Microsoft.Extensions.Options;
using Platform.AudioQueue.Audio;
using Platform.AudioQueue.Worker;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Auth;

namespace Platform.AudioQueue;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddPlatformRedis();
        builder.AddPlatformAuth();
        builder.Services.AddOptions<AudioQueueOptions>().BindConfiguration(AudioQueueOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AudioQueueOptions>, AudioQueueOptionsValidator>();
        builder.Services.AddSingleton(new QueueClock());
        builder.Services.AddSingleton<QueueEvents>();
        builder.Services.AddHostedService(services => services.GetRequiredService<QueueEvents>());
        builder.Services.AddSingleton<QueueMetrics>();
        builder.Services.AddSingleton<JobStore>();
        builder.Services.AddSingleton<LeaseStore>();
        builder.Services.AddSingleton<QueueAdmin>();
        // gRPC service classes are stateless: one instance serves every call (grpc-dotnet otherwise builds one per call).
        builder.Services.AddSingleton<Grpc.AudioQueueService>();
        builder.Services.AddSingleton<Grpc.AudioWorkerService>();
        builder.Services.AddWarmUpCall<QueueWarmUp>();
        builder.Services.AddHostedService<QueueHousekeeping>();
        builder.Services.AddHealthChecks().AddCheck<QueueBacklogHealthCheck>("queue-backlog");

        builder.Services.AddOptions<AudioProcessingOptions>().BindConfiguration(AudioProcessingOptions.SectionName);
        builder.Services.AddSingleton(services => new AudioProcessor(services.GetRequiredService<IOptions<AudioProcessingOptions>>().Value));
        builder.Services.AddOptions<AudioWorkerOptions>().BindConfiguration(AudioWorkerOptions.SectionName)
            .Validate(o => o.Concurrency >= 0 && o.LeaseDuration >= TimeSpan.FromSeconds(3) && o.ShutdownGrace >= TimeSpan.Zero,
                "AudioQueue:Worker: Concurrency must be 0 (hardware) or more, LeaseDuration at least 00:00:03, ShutdownGrace not negative")
            .ValidateOnStart();
        builder.Services.AddOptions<TranscriptionOptions>().BindConfiguration(TranscriptionOptions.SectionName);
        builder.Services.AddSingleton<Transcriber>();
        builder.Services.AddHostedService<BuiltInAudioWorker>();
        builder.Services.AddSingleton(services => new ScalingSettings(() =>
        {
            var worker = services.GetRequiredService<IOptions<AudioWorkerOptions>>().Value;
            var queue = services.GetRequiredService<IOptionsMonitor<AudioQueueOptions>>().CurrentValue;
            return new Dictionary<string, string>
            {
                ["audioqueue.worker.enabled"] = worker.Enabled ? "true" : "false",
                ["audioqueue.worker.concurrency"] = worker.Resolve(Environment.ProcessorCount, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes).ToString(CultureInfo.InvariantCulture),
                ["audioqueue.max_concurrency.configured"] = queue.MaxConcurrency.ToString(CultureInfo.InvariantCulture),
                ["audioqueue.max_concurrency"] = services.GetRequiredService<QueueMetrics>().Last?.Load.MaxConcurrency.ToString(CultureInfo.InvariantCulture) ?? "unknown (no stats yet)",
            };
        }));

        // gRPC rejects messages over 4 MiB by default; audio up to MaxAudioBytes (plus the envelope)
        // must reach validation, which answers with a clear INVALID_ARGUMENT instead.
        // Complete carries the output audio and a result of up to 1 Mi characters (4 MiB of UTF-8 at most).
        builder.Services.AddOptions<GrpcServiceOptions>().Configure<IOptions<AudioQueueOptions>>((grpc, queue) =>
            grpc.MaxReceiveMessageSize = queue.Value.MaxAudioBytes + 5 * 1024 * 1024);
    }
}
