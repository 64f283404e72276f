using Scalar.AspNetCore;

namespace Platform.ChatApi.Http;

/// <summary>The OpenAPI document (/openapi/v1.json) and an interactive reference page (/scalar).</summary>
public static class ApiReference
{
    public static void MapApiReference(this WebApplication app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference(options => options.WithTitle("Platform ChatApi"));
    }
}
