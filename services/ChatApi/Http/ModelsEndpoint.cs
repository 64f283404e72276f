using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace Platform.ChatApi.Http;

/// <summary>GET /v1/models, OpenAI's list of the models this gateway answers with.</summary>
public static class ModelsEndpoint
{
    public static void MapModels(this WebApplication app) =>
        app.MapGet("/v1/models", (IOptionsMonitor<ChatGatewayOptions> options) =>
            Results.Json(new ModelList("list", [new ModelInfo(options.CurrentValue.ModelName, "model", 0, "platform")])))
            .WithSummary("Lists the models (OpenAI-compatible)")
            .WithRequestTimeout(RouteTimeoutOptions.Read)
            .WithMetadata(new Platform.ServiceDefaults.Admission.AdmissionClassAttribute(RouteTimeoutOptions.Read));

    sealed record ModelList(
        [property: JsonPropertyName("object")] string Object,
        [property: JsonPropertyName("data")] IReadOnlyList<ModelInfo> Data);

    sealed record ModelInfo(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("object")] string Object,
        [property: JsonPropertyName("created")] long Created,
        [property: JsonPropertyName("owned_by")] string OwnedBy);
}
