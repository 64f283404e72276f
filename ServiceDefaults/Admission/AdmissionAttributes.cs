namespace Platform.ServiceDefaults.Admission;

/// <summary>The admission class of an endpoint or RPC (its limits: Admission:Classes:&lt;name&gt;). Without it: "default".</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class AdmissionClassAttribute(string name) : Attribute
{
    public const string Default = "default";

    public string Name => name;
}

/// <summary>
/// Never refused under load: work that frees capacity (lease renewals and completions, a Fill that waiting
/// callers need, releasing a concurrency slot). Admin RPCs and probes are never refused either.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class NeverShedAttribute : Attribute;
