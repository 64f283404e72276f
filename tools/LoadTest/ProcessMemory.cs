using System.Diagnostics;

namespace Platform.LoadTest;

/// <summary>Samples the resident memory of the platform's processes (by name) once a second; keeps each one's peak.</summary>
public sealed class ProcessMemory(IReadOnlyList<string> names)
{
    readonly Dictionary<string, long> peak = new(StringComparer.Ordinal);

    public void Sample()
    {
        foreach (var name in names)
        {
            foreach (var process in Process.GetProcessesByName(name))
            {
                using (process)
                {
                    try
                    {
                        process.Refresh();
                        peak[name] = Math.Max(peak.GetValueOrDefault(name), process.WorkingSet64);
                    }
                    catch (InvalidOperationException)
                    {
                        // It exited between listing and reading.
                    }
                }
            }
        }
    }

    public IReadOnlyDictionary<string, double> PeakMiB => peak.ToDictionary(p => p.Key, p => p.Value / (1024.0 * 1024));
}
