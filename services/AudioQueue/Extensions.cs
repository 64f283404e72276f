using Grpc.AspNetCore.Server;
using Microsoft.Extensions.Options;
using Platform.AudioQueue.Audio;
using Platform.AudioQueue.Worker;

namespace Platform.AudioQueue;

public static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddPlatformRedis();
        builder.Services.AddOptions<AudioQueueOptions>().BindConfiguration(AudioQueueOptions.SectionName);
        builder.Services.AddSingleton(new QueueClock());
        builder.Services.AddSingleton<QueueEvents>();
        builder.Services.AddHostedService(services => services.GetRequiredService<QueueEvents>());
        builder.Services.AddSingleton<QueueMetrics>();
        builder.Services.AddSingleton<JobStore>();
        builder.Services.AddSingleton<LeaseStore>();
        builder.Services.AddSingleton<QueueAdmin>();
        builder.Services.AddHostedService<QueueHousekeeping>();

        builder.Services.AddOptions<AudioProcessingOptions>().BindConfiguration(AudioProcessingOptions.SectionName);
        builder.Services.AddSingleton(services => new AudioProcessor(services.GetRequiredService<IOptions<AudioProcessingOptions>>().Value));
        builder.Services.AddOptions<AudioWorkerOptions>().BindConfiguration(AudioWorkerOptions.SectionName);
        builder.Services.AddOptions<TranscriptionOptions>().BindConfiguration(TranscriptionOptions.SectionName);
        builder.Services.AddSingleton<Transcriber>();
        builder.Services.AddHostedService<BuiltInAudioWorker>();

        // gRPC rejects messages over 4 MiB by default; audio up to MaxAudioBytes (plus the envelope)
        // must reach validation, which answers with a clear INVALID_ARGUMENT instead.
        builder.Services.AddOptions<GrpcServiceOptions>().Configure<IOptions<AudioQueueOptions>>((grpc, queue) =>
            grpc.MaxReceiveMessageSize = queue.Value.MaxAudioBytes + 1024 * 1024);
    }
}
