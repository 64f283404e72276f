using Platform.AudioQueue.Grpc;
using Platform.AudioQueue.V1;
using Platform.Tests.Support;
using StackExchange.Redis;

namespace Platform.Tests.AudioQueue;

/// <summary>An accepted job survives a Redis restart: redis-server with its append-only file, as deployed.</summary>
public sealed class QueueDurabilityTests : HostedTest
{
    [Fact]
    public async Task Jobs_and_their_states_survive_a_Redis_restart()
    {
        Assert.SkipUnless(RedisServerProcess.IsInstalled, "redis-server is not on PATH (install it: apt-get install redis-server)");
        var port = RedisFixture.FreePort();
        var endpoint = $"127.0.0.1:{port}";
        var dataDir = Directory.CreateTempSubdirectory("platform-aof-").FullName;
        var server = RedisServerProcess.Start(port, dataDir, appendOnly: true);
        try
        {
            await RedisFixture.WaitForPingAsync(endpoint);
            var channel = Track(ServiceHost.Start<AudioQueueService>(endpoint, null, ("AudioQueue:Worker:Enabled", "false"))).Channel();
            var queue = new Platform.AudioQueue.V1.AudioQueue.AudioQueueClient(channel);
            var worker = new AudioWorker.AudioWorkerClient(channel);
            var ids = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                ids.Add((await queue.EnqueueAsync(new EnqueueRequest { Audio = Google.Protobuf.ByteString.CopyFromUtf8("RIFF"), ContentType = "audio/wav" })).JobId);
            }
            var done = (await worker.LeaseAsync(new LeaseRequest { WorkerId = "w" })).Jobs.Single();
            await worker.CompleteAsync(new CompleteRequest { JobId = done.Job.Id, LeaseToken = done.LeaseToken, Result = "kept" });
            var running = (await worker.LeaseAsync(new LeaseRequest { WorkerId = "w" })).Jobs.Single();

            // SHUTDOWN writes the append-only file out and exits; then the same server starts from it.
            using (var admin = await ConnectionMultiplexer.ConnectAsync(endpoint + ",allowAdmin=true"))
            {
                await Record.ExceptionAsync(() => admin.GetServer(endpoint).ExecuteAsync("SHUTDOWN"));
            }
            await server.WaitForExitAsync(TestContext.Current.CancellationToken);
            server.Dispose();
            server = RedisServerProcess.Start(port, dataDir, appendOnly: true);
            await RedisFixture.WaitForPingAsync(endpoint);

            Job? first = null;
            Assert.True(await Eventually.TrueAsync(async () =>
            {
                try
                {
                    first = await queue.GetJobAsync(new GetJobRequest { JobId = ids[0] });
                    return true;
                }
                catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Unavailable)
                {
                    return false; // the service is reconnecting
                }
            }));
            Assert.Equal(JobState.Succeeded, first!.State);
            Assert.Equal("kept", first.Result);
            Assert.Equal(JobState.Processing, (await queue.GetJobAsync(new GetJobRequest { JobId = ids[1] })).State);
            Assert.Equal(JobState.Queued, (await queue.GetJobAsync(new GetJobRequest { JobId = ids[2] })).State);
            await worker.CompleteAsync(new CompleteRequest { JobId = running.Job.Id, LeaseToken = running.LeaseToken });
            Assert.Equal(ids[2], (await worker.LeaseAsync(new LeaseRequest { WorkerId = "w" })).Jobs.Single().Job.Id);
        }
        finally
        {
            RedisServerProcess.Stop(server);
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
