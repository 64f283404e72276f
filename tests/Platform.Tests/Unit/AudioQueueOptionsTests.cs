using Platform.AudioQueue;

namespace Platform.Tests.Unit;

public sealed class AudioQueueOptionsTests
{
    [Fact]
    public void Settings_that_would_stall_the_queue_are_refused_by_name()
    {
        var result = new AudioQueueOptionsValidator().Validate(null, new AudioQueueOptions
        {
            MaxConcurrency = 0, Retention = TimeSpan.Zero, RetryBaseDelay = TimeSpan.FromMinutes(10), RetryMaxDelay = TimeSpan.FromMinutes(1),
        });

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("AudioQueue:MaxConcurrency"));
        Assert.Contains(result.Failures!, f => f.Contains("AudioQueue:Retention"));
        Assert.Contains(result.Failures!, f => f.Contains("AudioQueue:RetryBaseDelay"));
        Assert.True(new AudioQueueOptionsValidator().Validate(null, new AudioQueueOptions()).Succeeded);
    }
}
