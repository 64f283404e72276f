using Microsoft.Extensions.Configuration;

namespace Platform.AppHost;

public static class ReplicaSettings
{
    /// <summary>How many replicas of a resource to run: configuration Replicas:&lt;resource&gt;, 1 to 16, default 1.</summary>
    public static int Replicas(this IDistributedApplicationBuilder builder, string resource)
    {
        var replicas = builder.Configuration.GetValue($"Replicas:{resource}", 1);
        return replicas is >= 1 and <= 16
            ? replicas
            : throw new InvalidOperationException($"Replicas:{resource} must be 1 to 16 (got {replicas}).");
    }
}
