using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;
using Unit = Envoy.Service.RateLimit.V3.RateLimitResponse.Types.RateLimit.Types.Unit;

namespace Platform.RateLimit.Envoy;

/// <summary>One file of envoyproxy/ratelimit's YAML configuration.</summary>
public sealed class EnvoyDomainConfig
{
    public string Domain { get; set; } = "";
    public List<EnvoyDescriptorConfig> Descriptors { get; set; } = [];

    static readonly IDeserializer Yaml = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .IgnoreUnmatchedProperties()
        .Build();

    public static EnvoyDomainConfig Parse(string yaml, string source)
    {
        var config = Yaml.Deserialize<EnvoyDomainConfig?>(yaml) ?? throw new FormatException($"{source}: empty configuration");
        if (string.IsNullOrWhiteSpace(config.Domain))
        {
            throw new FormatException($"{source}: 'domain' is required");
        }
        foreach (var descriptor in config.Descriptors)
        {
            descriptor.Validate($"{source}: {config.Domain}");
        }
        return config;
    }
}

public sealed class EnvoyDescriptorConfig
{
    public string Key { get; set; } = "";
    /// <summary>Empty: matches any value of <see cref="Key"/>, each value counted separately.</summary>
    public string? Value { get; set; }
    public EnvoyRateLimitConfig? RateLimit { get; set; }
    public bool ShadowMode { get; set; }
    public bool Unlimited { get; set; }
    public List<EnvoyDescriptorConfig> Descriptors { get; set; } = [];

    internal void Validate(string path)
    {
        var here = $"{path}/{Key}{(string.IsNullOrEmpty(Value) ? "" : "=" + Value)}";
        if (string.IsNullOrEmpty(Key))
        {
            throw new FormatException($"{path}: every descriptor needs a 'key'");
        }
        if (RateLimit is { } limit && (limit.RequestsPerUnit == 0 || EnvoyUnits.Window(limit.ParsedUnit) is null))
        {
            throw new FormatException($"{here}: rate_limit needs requests_per_unit >= 1 and unit second|minute|hour|day|month|year");
        }
        foreach (var child in Descriptors)
        {
            child.Validate(here);
        }
    }
}

public sealed class EnvoyRateLimitConfig
{
    public string Unit { get; set; } = "";
    public uint RequestsPerUnit { get; set; }
    public string? Name { get; set; }

    internal Unit ParsedUnit => Enum.TryParse<Unit>(Unit, ignoreCase: true, out var unit) ? unit : global::Envoy.Service.RateLimit.V3.RateLimitResponse.Types.RateLimit.Types.Unit.Unknown;
}

public static class EnvoyUnits
{
    /// <summary>The window of a unit (a month is 30 days, a year 365), or null for UNKNOWN.</summary>
    public static TimeSpan? Window(Unit unit) => unit switch
    {
        Unit.Second => TimeSpan.FromSeconds(1),
        Unit.Minute => TimeSpan.FromMinutes(1),
        Unit.Hour => TimeSpan.FromHours(1),
        Unit.Day => TimeSpan.FromDays(1),
        Unit.Month => TimeSpan.FromDays(30),
        Unit.Year => TimeSpan.FromDays(365),
        _ => null,
    };
}
