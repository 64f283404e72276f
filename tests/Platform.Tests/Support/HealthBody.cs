using System.Text.Json;

namespace Platform.Tests.Support;

/// <summary>Reads the services' JSON /health body: {"status", "checks": {name: {"status", "description"}}}.</summary>
public static class HealthBody
{
    public static string Status(string json) => JsonDocument.Parse(json).RootElement.GetProperty("status").GetString()!;

    public static (string Status, string? Description) Check(string json, string name)
    {
        var check = JsonDocument.Parse(json).RootElement.GetProperty("checks").GetProperty(name);
        return (check.GetProperty("status").GetString()!, check.GetProperty("description").GetString());
    }
}
