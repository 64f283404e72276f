using Platform.AudioQueue;

namespace Platform.Tests.Unit;

public sealed class WaitTimeEstimatorTests
{
    [Theory]
    [InlineData(0, 0, 4, 0)]   // a free slot: starts at once
    [InlineData(2, 1, 4, 0)]   // three free slots for two jobs ahead and this one
    [InlineData(3, 1, 4, 3)]   // waits for the one running job, half-way through on average
    [InlineData(4, 0, 4, 6)]   // four jobs take the slots and run a full job time
    [InlineData(10, 2, 2, 32)] // the first of two running jobs frees after a third of a job, then one every 3 s
    [InlineData(5, 5, 1, 33)]  // more running than the (lowered) limit: one slot counts
    public void Estimate_follows_the_measured_rate_of_the_slots(long jobsAhead, long processing, int concurrency, double expectedSeconds)
    {
        var load = new QueueLoad(processing, concurrency, TimeSpan.FromSeconds(6));

        Assert.Equal(expectedSeconds, WaitTimeEstimator.Estimate(jobsAhead, load).TotalSeconds, precision: 6);
    }
}
