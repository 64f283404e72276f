using System.Diagnostics;
using OpenTelemetry;

namespace Platform.ServiceDefaults;

/// <summary>
/// Drops the Redis PING spans that health checks produce outside any request (every few seconds), so the dashboard's
/// trace list shows requests. A PING inside a request trace is kept.
/// </summary>
sealed class HealthProbeSpanFilter : BaseProcessor<Activity>
{
    public override void OnEnd(Activity activity)
    {
        if (activity.Parent is null && activity.DisplayName == "PING")
        {
            activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
        }
    }
}
