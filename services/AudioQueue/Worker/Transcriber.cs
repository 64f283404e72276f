using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Platform.AudioQueue.Worker;

/// <summary>Configuration section <c>AudioQueue:Transcription</c>: an OpenAI-compatible speech-to-text endpoint.</summary>
public sealed class TranscriptionOptions
{
    public const string SectionName = "AudioQueue:Transcription";

    /// <summary>Base URL of the provider's API (e.g. https://api.openai.com/v1). Unset: no transcription.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Speech-to-text model, e.g. whisper-1.</summary>
    public string? Model { get; set; }

    public string? ApiKey { get; set; }

    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(1);

    public bool IsConfigured => !string.IsNullOrEmpty(Endpoint) && !string.IsNullOrEmpty(Model);
}

/// <summary>
/// The optional transcription stage: the processed 16 kHz WAV goes to an OpenAI-compatible
/// /audio/transcriptions endpoint through Microsoft.Extensions.AI's ISpeechToTextClient.
/// </summary>
// ISpeechToTextClient is still marked experimental (MEAI001) in Microsoft.Extensions.AI 10.x; it is the
// library's supported speech-to-text abstraction, and the only call made here is GetTextAsync.
#pragma warning disable MEAI001
public sealed class Transcriber(IOptions<TranscriptionOptions> options)
{
    readonly ISpeechToTextClient? client = Create(options.Value);

    public bool Enabled => client is not null;

    static ISpeechToTextClient? Create(TranscriptionOptions settings) =>
        settings.IsConfigured
            ? new OpenAI.Audio.AudioClient(settings.Model, new System.ClientModel.ApiKeyCredential(settings.ApiKey ?? "none"),
                new OpenAI.OpenAIClientOptions { Endpoint = new Uri(settings.Endpoint!), NetworkTimeout = settings.Timeout }).AsISpeechToTextClient()
            : null;

    /// <summary>The text spoken in <paramref name="wav"/>; null when no endpoint is configured.</summary>
    public async Task<string?> TranscribeAsync(byte[] wav, CancellationToken cancellationToken)
    {
        if (client is null)
        {
            return null;
        }
        using var audio = new MemoryStream(wav, writable: false);
        var response = await client.GetTextAsync(audio, new SpeechToTextOptions(), cancellationToken);
        return response.Text;
    }
}
#pragma warning restore MEAI001
