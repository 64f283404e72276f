using System.Diagnostics;

namespace Platform.ServiceDefaults;

/// <summary>Names shared by every service's custom telemetry (meters are "platform.&lt;service&gt;").</summary>
public static class PlatformTelemetry
{
    public const string MeterPrefix = "platform.";
    public const string ActivitySourceName = "Platform";

    /// <summary>The spans the services start themselves (Redis scripts, chat model calls).</summary>
    public static readonly ActivitySource Source = new(ActivitySourceName);

    /// <summary>The meter of a service's own metrics: platform.&lt;application name in lower case, without "Api"&gt; (ChatApi: platform.chat).</summary>
    public static string ServiceMeterName(string applicationName) =>
        MeterPrefix + (applicationName.EndsWith("Api", StringComparison.Ordinal) ? applicationName[..^3] : applicationName).ToLowerInvariant();

    /// <summary>Traces kept outside Development when OTEL_TRACES_SAMPLER is not set: one in ten, whole (parent-based).</summary>
    public const double ProductionTraceRatio = 0.1;
}
