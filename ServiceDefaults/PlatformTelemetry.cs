namespace Platform.ServiceDefaults;

/// <summary>Names shared by every service's custom telemetry (meters are "platform.&lt;service&gt;").</summary>
public static class PlatformTelemetry
{
    public const string MeterPrefix = "platform.";
    public const string ActivitySourceName = "Platform";
}
