namespace Platform.ServiceDefaults;

/// <summary>The audio types the platform accepts (ChatApi uploads, AudioQueue jobs), each mapped to the one name stored.</summary>
public static class AudioContentTypes
{
    public static readonly IReadOnlyDictionary<string, string> Known = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["audio/wav"] = "audio/wav", ["audio/x-wav"] = "audio/wav", ["audio/wave"] = "audio/wav", ["audio/vnd.wave"] = "audio/wav",
        ["audio/mpeg"] = "audio/mpeg", ["audio/mp3"] = "audio/mpeg",
    };

    public const string Description = "audio/wav (also audio/x-wav, audio/wave, audio/vnd.wave) or audio/mpeg (also audio/mp3)";
}
