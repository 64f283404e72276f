using Platform.AudioQueue;

namespace Platform.Tests.Unit;

public sealed class WaitTimeEstimatorTests
{
    [Theory]
    [InlineData(0, 4, 0)]
    [InlineData(4, 4, 2)]
    [InlineData(6, 4, 3)]
    [InlineData(3, 1, 6)]
    public void Jobs_ahead_are_shared_by_the_workers(long jobsAhead, int concurrency, double expectedSeconds)
    {
        var estimator = new WaitTimeEstimator(new StaticOptionsMonitor<AudioQueueOptions>(
            new AudioQueueOptions { MaxConcurrency = concurrency, TypicalJobDuration = TimeSpan.FromSeconds(2) }));

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), estimator.Estimate(jobsAhead));
    }
}
