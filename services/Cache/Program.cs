using Platform.Cache;
using Platform.Cache.Grpc;
using Platform.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapGrpcService<DiagnosticsService>();
app.MapGrpcService<CacheService>();
app.Run();

public partial class Program;
