namespace Platform.AudioQueue.Worker;

/// <summary>Configuration section <c>AudioQueue:Worker</c>: the audio worker built into the service.</summary>
public sealed class AudioWorkerOptions
{
    public const string SectionName = "AudioQueue:Worker";

    /// <summary>False when only external workers (AudioWorker RPCs) should process jobs.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Jobs this replica processes at once; 0 picks it from the hardware (see <see cref="Resolve"/>).</summary>
    public int Concurrency { get; set; }

    /// <summary>How long a lease holds between renewals (renewed every third of it).</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>On shutdown, how long running jobs may take to finish before they are given back.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Memory set aside per concurrent job: decoding five minutes of 44.1 kHz stereo takes about 60 MB.</summary>
    public const long MemoryPerJob = 256L * 1024 * 1024;

    /// <summary>
    /// The configured concurrency, or one job per core, fewer when memory is short (like the seed's
    /// hardware auto-detection).
    /// </summary>
    public int Resolve(int cores, long availableMemory) =>
        Concurrency > 0 ? Concurrency : (int)Math.Clamp(Math.Min(cores, availableMemory / MemoryPerJob), 1, cores);
}
