using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Platform.AudioQueue.V1;
using Platform.Cache.V1;
using Platform.RateLimit.V1;
using Duration = Google.Protobuf.WellKnownTypes.Duration;

namespace Platform.Tests.Faults;

/// <summary>
/// A valid request per message type the sweep knows, by protobuf name. Each bad value is added to it, so the
/// targeted field is the only thing wrong. An RPC without one is still swept, from an empty request.
/// </summary>
public static class SweepSeeds
{
    public static IReadOnlyDictionary<string, IMessage> ByMessage { get; } = new IMessage[]
    {
        new CheckRequest { Policy = "sweep", Key = "k" },
        new CheckManyRequest { Checks = { new CheckRequest { Policy = "sweep", Key = "k" } } },
        new AcquireRequest { Policy = "sweep-slots", Key = "k", LeaseTtl = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)) },
        new Platform.RateLimit.V1.ReleaseRequest { Policy = "sweep-slots", Key = "k", LeaseId = "lease" },
        new ListPoliciesRequest(),
        new ResetRequest { Policy = "sweep", Key = "k" },
        new Envoy.Service.RateLimit.V3.RateLimitRequest
        {
            Domain = "sweep",
            Descriptors = { new Envoy.Service.RateLimit.V3.RateLimitDescriptor { Entries = { new Envoy.Service.RateLimit.V3.RateLimitDescriptor.Types.Entry { Key = "k", Value = "v" } } } },
        },
        new GetRequest { Namespace = "sweep", Key = "k" },
        new GetManyRequest { Namespace = "sweep", Keys = { "k" } },
        new SetRequest { Namespace = "sweep", Key = "k", Value = ByteString.CopyFromUtf8("v"), Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)), Tags = { "t" } },
        new DeleteRequest { Namespace = "sweep", Key = "k" },
        new InvalidateTagsRequest { Namespace = "sweep", Tags = { "t" } },
        new ClearRequest { Namespace = "sweep" },
        new LookupRequest { Namespace = "sweep", Key = "lookup", LeaseTtl = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)), MaxWait = new Duration() },
        new FillRequest { Namespace = "sweep", Key = "k", Token = "token", Value = ByteString.CopyFromUtf8("v"), Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)) },
        new AbandonRequest { Namespace = "sweep", Key = "k", Token = "token" },
        new Platform.Cache.V1.GetStatsRequest { Namespace = "sweep" },
        new EnqueueRequest { Audio = ByteString.CopyFromUtf8("RIFF"), ContentType = "audio/wav", Tenant = "sweep", Metadata = { ["a"] = "b" } },
        new GetJobRequest { JobId = Guid.NewGuid().ToString() },
        new CancelRequest { JobId = Guid.NewGuid().ToString(), Reason = "sweep" },
        new Platform.AudioQueue.V1.GetStatsRequest(),
        new PauseRequest(),
        new ResumeRequest(),
        new SetConcurrencyRequest { MaxConcurrency = 4 },
        new ListDeadLettersRequest { PageSize = 10 },
        new RequeueRequest { JobId = Guid.NewGuid().ToString() },
        new LeaseRequest { WorkerId = "sweeper", MaxJobs = 1, LeaseDuration = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)), MaxWait = new Duration() },
        new RenewRequest { JobId = Guid.NewGuid().ToString(), LeaseToken = "token", Progress = 0.5 },
        new CompleteRequest { JobId = Guid.NewGuid().ToString(), LeaseToken = "token", Result = "{}", OutputContentType = "audio/wav" },
        new FailRequest { JobId = Guid.NewGuid().ToString(), LeaseToken = "token", Error = "sweep", Retryable = true },
        new Platform.AudioQueue.V1.ReleaseRequest { JobId = Guid.NewGuid().ToString(), LeaseToken = "token" },
        new Platform.Chat.V1.CompleteRequest { Messages = { new Platform.Chat.V1.Message { Role = "user", Content = "sweep" } } },
        new HealthCheckRequest(),
        new ServerReflectionRequest { ListServices = "" },
    }.ToDictionary(message => message.Descriptor.FullName);

    /// <summary>A valid JSON body per minimal API request type (ChatApi), for the HTTP sweep.</summary>
    public static IReadOnlyDictionary<System.Type, string> HttpBodies { get; } = new Dictionary<System.Type, string>
    {
        [typeof(Platform.ChatApi.Http.ChatCompletionRequest)] = """{"messages":[{"role":"user","content":"sweep"}]}""",
    };
}
