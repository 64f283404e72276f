namespace Platform.AudioQueue.Audio;

/// <summary>
/// Thrown for input that can never succeed (undecodable, unsupported format, too long, empty):
/// the job fails without being retried.
/// </summary>
public sealed class UnprocessableAudioException(string message, Exception? inner = null) : Exception(message, inner);
