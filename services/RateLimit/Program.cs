using Platform.RateLimit;
using Platform.RateLimit.Envoy;
using Platform.RateLimit.Grpc;
using Platform.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapGrpcService<DiagnosticsService>();
app.MapGrpcService<RateLimiterService>();
app.MapGrpcService<EnvoyRateLimitService>();
app.Run();

public partial class Program;
