using Google.Protobuf.WellKnownTypes;

namespace Platform.ServiceDefaults;

public static class GrpcDurations
{
    /// <summary>
    /// The duration as a TimeSpan; a malformed one (seconds and nanos of different signs, out of range)
    /// becomes TimeSpan.MinValue, which every range check rejects with INVALID_ARGUMENT naming the field.
    /// </summary>
    public static TimeSpan? ToTimeSpanOrInvalid(this Duration? duration)
    {
        if (duration is null)
        {
            return null;
        }
        try
        {
            return duration.ToTimeSpan();
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentOutOfRangeException or OverflowException)
        {
            return TimeSpan.MinValue;
        }
    }
}
