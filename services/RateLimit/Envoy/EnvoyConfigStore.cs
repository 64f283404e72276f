using Envoy.Service.RateLimit.V3;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Unit = Envoy.Service.RateLimit.V3.RateLimitResponse.Types.RateLimit.Types.Unit;

namespace Platform.RateLimit.Envoy;

/// <summary>A limit that matched a descriptor: what to count and how the response describes it.</summary>
public sealed record EnvoyLimit(string PolicyName, RateLimitPolicy Policy, string CounterKey, uint RequestsPerUnit, Unit Unit, string Name);

/// <summary>
/// The envoyproxy/ratelimit YAML files named by RateLimit:Envoy:ConfigPath (a file or a directory of
/// *.yaml / *.yml), reloaded when they change. An invalid file at start-up stops the service; an invalid
/// edit later is logged and the previous configuration stays in force.
/// </summary>
public sealed partial class EnvoyConfigStore : IDisposable
{
    readonly EnvoyOptions options;
    readonly ILogger<EnvoyConfigStore> logger;
    readonly PhysicalFileProvider? files;
    readonly IDisposable? watch;
    volatile Dictionary<string, EnvoyDomainConfig> domains = [];

    public EnvoyConfigStore(IOptions<RateLimitOptions> options, IHostEnvironment environment, ILogger<EnvoyConfigStore> logger)
    {
        this.options = options.Value.Envoy;
        this.logger = logger;
        if (string.IsNullOrWhiteSpace(this.options.ConfigPath))
        {
            return;
        }
        var path = Path.GetFullPath(this.options.ConfigPath, environment.ContentRootPath);
        var isDirectory = Directory.Exists(path);
        if (!isDirectory && !File.Exists(path))
        {
            throw new FileNotFoundException($"RateLimit:Envoy:ConfigPath '{path}' does not exist.");
        }
        domains = Load(path, isDirectory);
        files = new PhysicalFileProvider(isDirectory ? path : Path.GetDirectoryName(path)!);
        var filter = isDirectory ? "**/*.y*ml" : Path.GetFileName(path);
        watch = ChangeToken.OnChange(() => files.Watch(filter), () => Reload(path, isDirectory));
    }

    /// <summary>The limit for one descriptor of a request, or null when none applies (no match, or unlimited).</summary>
    public EnvoyLimit? Find(string domain, RateLimitDescriptor descriptor)
    {
        if (descriptor.Entries.Count == 0 || !domains.TryGetValue(domain, out var config))
        {
            return null;
        }
        var level = config.Descriptors;
        EnvoyDescriptorConfig? node = null;
        foreach (var entry in descriptor.Entries)
        {
            // An exact key+value match wins over a key-only (any value) match, as in envoyproxy/ratelimit.
            node = level.FirstOrDefault(d => d.Key == entry.Key && d.Value == entry.Value)
                   ?? level.FirstOrDefault(d => d.Key == entry.Key && string.IsNullOrEmpty(d.Value));
            if (node is null)
            {
                return null;
            }
            level = node.Descriptors;
        }
        if (node is null || node.Unlimited || node.RateLimit is null && descriptor.Limit is null)
        {
            return null;
        }

        var requests = descriptor.Limit?.RequestsPerUnit ?? node.RateLimit!.RequestsPerUnit;
        var unit = descriptor.Limit?.Unit ?? node.RateLimit!.ParsedUnit;
        if (requests == 0 || EnvoyUnits.Window(unit) is not { } window)
        {
            return null;
        }
        var path = string.Join('.', descriptor.Entries.Select(e => e.Key));
        var counter = string.Join('|', descriptor.Entries.Select(e => $"{e.Key}={e.Value}"));
        var policy = new RateLimitPolicy
        {
            Algorithm = RateLimitAlgorithm.FixedWindow,
            Limit = requests,
            Window = window,
            Shadow = node.ShadowMode,
            FailureMode = options.FailureMode,
        };
        return new EnvoyLimit($"envoy.{domain}.{path}", policy, counter, requests, unit, node.RateLimit?.Name ?? path);
    }

    Dictionary<string, EnvoyDomainConfig> Load(string path, bool isDirectory)
    {
        IEnumerable<string> sources = isDirectory
            ? Directory.EnumerateFiles(path, "*.*", SearchOption.AllDirectories).Where(f => f.EndsWith(".yaml") || f.EndsWith(".yml")).Order()
            : [path];
        var loaded = new Dictionary<string, EnvoyDomainConfig>();
        foreach (var file in sources)
        {
            var config = EnvoyDomainConfig.Parse(File.ReadAllText(file), file);
            if (!loaded.TryAdd(config.Domain, config))
            {
                throw new FormatException($"{file}: domain '{config.Domain}' is defined twice");
            }
        }
        LogLoaded(loaded.Count, path);
        return loaded;
    }

    void Reload(string path, bool isDirectory)
    {
        try
        {
            domains = Load(path, isDirectory);
        }
        catch (Exception e) when (e is FormatException or IOException or YamlDotNet.Core.YamlException)
        {
            LogReloadFailed(path, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Count} Envoy rate-limit domain(s) from {Path}")]
    partial void LogLoaded(int count, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Envoy rate-limit configuration {Path} is invalid; keeping the previous one: {Reason}")]
    partial void LogReloadFailed(string path, string reason);

    public void Dispose()
    {
        watch?.Dispose();
        files?.Dispose();
    }
}
