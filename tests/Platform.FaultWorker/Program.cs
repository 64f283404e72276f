// An external AudioQueue worker for the fault tests, as small as a worker can be: it leases jobs with one-second
// leases, "processes" each by counting it in Redis, completes it, and records the completion the service accepted.
// The test kills it (SIGKILL) at arbitrary moments and starts another, over and over, then checks from the records
// that every job was completed exactly once.
//
// Usage: Platform.FaultWorker <AudioQueue gRPC address> <API key with the worker role> <Redis endpoint> <slots>
// Redis (test bookkeeping, not the queue's data):
//   faults:processed    hash job id -> how many times a worker started it (at least once: redeliveries count)
//   faults:completions  list of "<job id> <lease token>", one per Complete the service accepted
using Grpc.Core;
using Grpc.Net.Client;
using Platform.AudioQueue.V1;
using StackExchange.Redis;

var (address, apiKey, redisEndpoint, slots) = (args[0], args[1], args[2], int.Parse(args[3]));
using var channel = Platform.PlatformChannel.ForAddress(new Uri(address), apiKey);
var worker = new AudioWorker.AudioWorkerClient(channel);
using var redis = await ConnectionMultiplexer.ConnectAsync(redisEndpoint);
var records = redis.GetDatabase();

await Task.WhenAll(Enumerable.Range(1, slots).Select(slot => RunSlotAsync($"fault-worker-{Environment.ProcessId}-{slot}")));

async Task RunSlotAsync(string workerId)
{
    while (true)
    {
        var leased = await worker.LeaseAsync(new LeaseRequest
        {
            WorkerId = workerId,
            MaxJobs = 5,
            LeaseDuration = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
            MaxWait = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        });
        foreach (var job in leased.Jobs)
        {
            await records.HashIncrementAsync("faults:processed", job.Job.Id);
            await Task.Delay(Random.Shared.Next(0, 3)); // the work
            try
            {
                await worker.CompleteAsync(new CompleteRequest { JobId = job.Job.Id, LeaseToken = job.LeaseToken, Result = $"{{\"token\":\"{job.LeaseToken}\"}}" });
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
            {
                continue; // the lease ran out first (a slow moment) and the job went to another worker: drop it
            }
            // Recorded only after the service accepted it: a kill in between loses a record, never invents one.
            await records.ListRightPushAsync("faults:completions", $"{job.Job.Id} {job.LeaseToken}");
        }
    }
}
